"""Encoder throughput: our BertEncoder against TF Model Garden, keras-hub and HF torch, in one process.

Every model gets random weights of the same architecture and the same batch.
TensorFlow's intra-op threads and torch's threads are set to the same number
so no library gets more cores than another. The achieved GFLOP/s of each model
is reported as a share of a large fp32 matmul measured in the same run.

    python -m bench.bench_encoder [--settings=bert_base,minilm] [--write_results]
"""

import os
import platform
import re
import subprocess
import sys
import time

from absl import app, flags

from bench.results import write_section

FLAGS = flags.FLAGS


def define_flags():
    """Declares the flags; only when run as a program, so importing this module never clashes."""
    flags.DEFINE_list("settings", ["bert_base", "minilm"], "Which settings to run: bert_base, minilm.")
    flags.DEFINE_list("models", ["ours", "model_garden", "keras_hub", "hf_torch"], "Which models to run.")
    flags.DEFINE_integer("threads", 0, "Threads for TF intra-op and torch (0: all cores).")
    flags.DEFINE_integer("rounds", 5, "Timed rounds; each round runs every model (and the matmul) once, in turn.")
    flags.DEFINE_bool("write_results", False, "Replace the 'Encoder throughput' section of BENCHMARKS.md.")
    flags.DEFINE_string("note", "", "A remark recorded with the results (e.g. machine contention).")
    flags.DEFINE_float("settle", 0.3, "Seconds of idle time (untimed) after each runner, so one library's "
                       "spin-waiting worker threads do not run into the next one's timing.")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name: (batch, seq, layers, hidden, heads, intermediate, vocab)
SETTINGS = {
    "bert_base": dict(batch=8, seq=128, layers=12, hidden=768, heads=12, intermediate=3072, vocab=30522),
    "minilm": dict(batch=32, seq=128, layers=6, hidden=384, heads=12, intermediate=1536, vocab=30522),
}


def encoder_flops(s):
    """Multiply-adds x2 of one forward pass: projections, feedforward, attention scores and mix."""
    tokens = s["batch"] * s["seq"]
    per_layer = 2 * tokens * (4 * s["hidden"] ** 2 + 2 * s["hidden"] * s["intermediate"])
    per_layer += 2 * 2 * s["batch"] * s["seq"] ** 2 * s["hidden"]
    pooler = 2 * s["batch"] * s["hidden"] ** 2
    return s["layers"] * per_layer + pooler


def _inputs(s, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    ids = rng.integers(1, s["vocab"], size=(s["batch"], s["seq"])).astype("int32")
    mask = np.ones_like(ids)
    mask[s["batch"] // 2:, s["seq"] * 3 // 4:] = 0  # some padding, as real batches have
    types = np.zeros_like(ids)
    types[:, s["seq"] // 2:] = 1
    return ids, mask, types


def measure(runners):
    """Best (minimum) seconds per call of each runner over interleaved rounds.

    The machine may be shared: interleaving gives every runner the same exposure
    to other load, and the minimum is the least disturbed of its samples, for
    the models and the reference matmul alike.
    """
    for label, fn in runners:
        print(f"    warm-up: {label}", flush=True)
        fn()  # tracing, compilation, first-touch allocations
        fn()
    samples = {label: [] for label, _ in runners}
    for r in range(FLAGS.rounds):
        for label, fn in runners:
            t0 = time.perf_counter()
            fn()
            samples[label].append(time.perf_counter() - t0)
            time.sleep(FLAGS.settle)
        print(f"    round {r + 1}/{FLAGS.rounds}: " + ", ".join(
            f"{label} {samples[label][-1] * 1e3:.0f} ms" for label, _ in runners), flush=True)
    return {label: min(times) for label, times in samples.items()}


# ---- models -------------------------------------------------------------------------------

def _tf_runner(model, feed, jit):
    import tensorflow as tf

    @tf.function(jit_compile=jit, reduce_retracing=True)
    def forward(inputs):
        return model(inputs, training=False)

    tensors = {k: tf.constant(v) for k, v in feed.items()}

    def run():
        out = forward(tensors)
        key = "sequence_output" if "sequence_output" in out else next(iter(out))
        out[key].numpy()

    return run


def ours(s, jit):
    from official_encoders import build_encoder
    from official_encoders.models.configs import EncoderConfig

    config = EncoderConfig(family="bert", vocab_size=s["vocab"], hidden_size=s["hidden"], num_layers=s["layers"],
                           num_heads=s["heads"], intermediate_size=s["intermediate"], hidden_act="gelu")
    model = build_encoder(config)
    ids, mask, types = _inputs(s)
    return _tf_runner(model, dict(input_word_ids=ids, input_mask=mask, input_type_ids=types), jit)


def model_garden(s, jit):
    from official.nlp.modeling import networks

    model = networks.BertEncoderV2(
        vocab_size=s["vocab"], hidden_size=s["hidden"], num_layers=s["layers"], num_attention_heads=s["heads"],
        inner_dim=s["intermediate"], max_sequence_length=512, dropout_rate=0.1, attention_dropout_rate=0.1)
    ids, mask, types = _inputs(s)
    return _tf_runner(model, dict(input_word_ids=ids, input_mask=mask, input_type_ids=types), jit)


def keras_hub(s, jit):
    import keras_hub as kh

    model = kh.models.BertBackbone(
        vocabulary_size=s["vocab"], num_layers=s["layers"], num_heads=s["heads"], hidden_dim=s["hidden"],
        intermediate_dim=s["intermediate"], max_sequence_length=512)
    ids, mask, types = _inputs(s)
    return _tf_runner(model, dict(token_ids=ids, padding_mask=mask, segment_ids=types), jit)


def hf_torch(s, jit):
    del jit  # torch eager; no XLA
    import torch
    import transformers

    config = transformers.BertConfig(
        vocab_size=s["vocab"], hidden_size=s["hidden"], num_hidden_layers=s["layers"],
        num_attention_heads=s["heads"], intermediate_size=s["intermediate"])
    model = transformers.BertModel(config).eval()
    ids, mask, types = (torch.from_numpy(a.astype("int64")) for a in _inputs(s))

    def run():
        with torch.inference_mode():
            model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state.numpy()

    return run


MODELS = {
    # name: (label, builder, modes to try)
    "ours": ("ours (official_encoders BertEncoder)", ours, (False, True)),
    "model_garden": ("TF Model Garden BertEncoderV2", model_garden, (False, True)),
    "keras_hub": ("keras-hub BertBackbone", keras_hub, (False, True)),
    "hf_torch": ("HF transformers BertModel (torch)", hf_torch, (False,)),
}


MATMUL_N = 2048


def matmul_runners(n=MATMUL_N):
    """An n x n x n fp32 matmul in TF and in torch (the machine's reachable GEMM rate)."""
    import numpy as np
    import tensorflow as tf
    import torch

    a = np.random.default_rng(0).standard_normal((n, n)).astype("float32")
    ta, tb = tf.constant(a), tf.constant(a.T.copy())
    mm = tf.function(lambda: tf.matmul(ta, tb))
    pa, pb = torch.from_numpy(a), torch.from_numpy(a.T.copy())
    return [("TF matmul", lambda: mm().numpy()), ("torch matmul", lambda: torch.matmul(pa, pb).numpy())]


# ---- reporting ------------------------------------------------------------------------------

def machine():
    model = platform.processor() or "unknown CPU"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        found = re.search(r"Model name:\s*(.+)", lscpu)
        model = found.group(1).strip() if found else model
    except (OSError, subprocess.CalledProcessError):
        pass
    return f"{model}, {os.cpu_count()} logical cores"


def verdict(setting, rows, matmul_rate):
    """One line against the targets: >= 1.1x the best peer; >= 80% of the matmul rate at BERT-base."""
    ours = [r for r in rows if r["model"] == "ours"]
    peers = [r for r in rows if r["model"] != "ours"]
    if not ours or not peers:
        return "Verdict: not enough models ran to compare."
    best, peer = max(ours, key=lambda r: r["seq_per_s"]), max(peers, key=lambda r: r["seq_per_s"])
    ratio, share = best["seq_per_s"] / peer["seq_per_s"], best["gflops"] / matmul_rate
    text = (f"Verdict: ours at its best ({best['mode']}) is {ratio:.2f}x the best peer ({peer['label']}, "
            f"{peer['mode']}): target 1.1x {'met' if ratio >= 1.1 else 'NOT met'}")
    if setting == "bert_base":
        text += f"; {share:.0%} of the matmul rate: target 80% {'met' if share >= 0.8 else 'NOT met'}"
    return text + "."


def render(results, matmul, threads, note):
    lines = ["## Encoder throughput", ""]
    lines.append(f"Machine: {machine()}. Threads: TF intra-op = torch = {threads} (set equal for fairness).")
    shown = [a for a in sys.argv[1:] if not a.startswith(("--note", "--write_results"))]
    command = " ".join(["python -m bench.bench_encoder --write_results"] + shown)
    lines.append(f"Command: `{command}`.")
    lines.append("fp32, random weights, inference (`training=False`), one batch with some padding. Each "
                 f"setting times every model and a {MATMUL_N}^3 fp32 matmul (TF and torch) in {FLAGS.rounds} "
                 f"interleaved rounds, with {FLAGS.settle:g} s idle after each runner (spin-waiting threads of "
                 "one library stay out of the next one's timing), and reports each one's best round (the "
                 "least disturbed by other load). "
                 "TF models run under `tf.function`, with and without `jit_compile`; the share of matmul rate "
                 "is against the faster of the TF and torch matmul.")
    if note:
        lines.append(f"Note: {note}")
    lines.append("")
    for setting, rows in results.items():
        s = SETTINGS[setting]
        lines.append(f"### {setting} (B={s['batch']}, S={s['seq']}, L={s['layers']}, H={s['hidden']}, "
                     f"A={s['heads']}, I={s['intermediate']})")
        lines.append("")
        m = matmul[setting]
        lines.append(f"Matmul rate: {m[0]:.0f} GFLOP/s (TF {m[1]:.0f}, torch {m[2]:.0f}).")
        lines.append("")
        lines.append("| model | mode | sequences/s | ratio to ours (best) | GFLOP/s | share of matmul rate |")
        lines.append("|---|---|---:|---:|---:|---:|")
        ours_best = max((r["seq_per_s"] for r in rows if r["model"] == "ours"), default=None)
        for r in rows:
            ratio = f"{r['seq_per_s'] / ours_best:.2f}" if ours_best else "n/a"
            lines.append(f"| {r['label']} | {r['mode']} | {r['seq_per_s']:.1f} | {ratio} | "
                         f"{r['gflops']:.0f} | {r['gflops'] / m[0]:.0%} |")
        lines.append("")
        lines.append(verdict(setting, rows, m[0]))
        lines.append("")
    return "\n".join(lines)


def main(argv):
    del argv
    threads = FLAGS.threads or os.cpu_count()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import torch

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    torch.set_num_threads(threads)
    print(f"threads: TF intra-op = torch = {threads}", flush=True)

    results, matmul = {}, {}
    for step, setting in enumerate(FLAGS.settings, 1):
        s = SETTINGS[setting]
        flops = encoder_flops(s)
        print(f"[{step}/{len(FLAGS.settings)}] {setting}: building models", flush=True)
        runners, meta = matmul_runners(), {}
        for name in FLAGS.models:
            label, builder, modes = MODELS[name]
            for jit in modes:
                mode = "jit_compile" if jit else ("tf.function" if name != "hf_torch" else "eager")
                try:
                    runner = builder(s, jit)
                    runner()  # a peer failing must not hide the others' numbers
                except Exception as e:
                    print(f"    FAILED {label}, {mode}: {type(e).__name__}: {e}", flush=True)
                    continue
                runners.append((f"{name}/{mode}", runner))
                meta[f"{name}/{mode}"] = dict(model=name, label=label, mode=mode)
        seconds = measure(runners)
        gemm = 2 * MATMUL_N ** 3 / 1e9
        matmul[setting] = (max(gemm / seconds["TF matmul"], gemm / seconds["torch matmul"]),
                           gemm / seconds["TF matmul"], gemm / seconds["torch matmul"])
        results[setting] = [dict(meta[key], seq_per_s=s["batch"] / seconds[key], gflops=flops / seconds[key] / 1e9)
                            for key in meta]
    text = render(results, matmul, threads, FLAGS.note)
    print("\n" + text)
    if FLAGS.write_results:
        write_section(text)
        print(f"\nwrote the 'Encoder throughput' section of {os.path.join(ROOT, 'BENCHMARKS.md')}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
