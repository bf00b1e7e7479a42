"""Question-answering training steps per second: our train step against Hugging Face's, in one process.

    python -m bench.bench_qa_training [--rounds=3] [--steps=5] [--warmup=2] [--write]

Both sides start from the same weights: the real all-MiniLM-L6-v2 encoder (BERT, L=6,
H=384, A=12, I=1536) as a BertForQuestionAnswering with a seeded random span head,
saved once as a Hugging Face directory that both load. Both train on the same random
token batches (batch 8, seq_length 384: [CLS] question [SEP] passage [SEP], random
start/end positions in the passage), with dropout on, the loss of
BertForQuestionAnswering (the mean of the start and end cross-entropies) and AdamW at
the same learning rate, epsilon 1e-8 and weight decay 0.01 on every weight.

- ours: `official_encoders.finetune.training.make_train_step` (the fine-tuning runner's
  step, under the default strategy) on `build_task_model("question_answering", ...)`,
  with keras.optimizers.AdamW;
- Hugging Face: transformers' BertForQuestionAnswering (CPU torch, eager), forward with
  `start_positions`/`end_positions`, `loss.backward()`, torch.optim.AdamW(fused=True)
  (the `adamw_torch_fused` default of transformers' Trainer), `zero_grad(set_to_none)`.

TensorFlow's intra-op threads and torch's threads are set to the same number. Warm-up
steps (tracing, first allocations) are not timed. Rounds alternate (ours, HF, ours,
HF, ...) so that load from other processes on a shared machine hits both alike; each
side's steps/s is its median round, and the ratio is also given per round. Every
measured step's loss is printed, and both must go down over the measured steps.
"""

import os
import statistics
import tempfile
import time

from absl import app
from absl import flags
import numpy as np

from bench.results import write_section

FLAGS = flags.FLAGS
QUESTION_LENGTH = 64  # [CLS] + question + [SEP]; the passage and its [SEP] fill the rest


def define_flags():
    flags.DEFINE_integer("batch_size", 8, "Sequences per training step.")
    flags.DEFINE_integer("seq_length", 384, "Tokens per sequence.")
    flags.DEFINE_integer("rounds", 3, "Interleaved timed rounds (each side trains --steps steps per round).")
    flags.DEFINE_integer("steps", 5, "Timed training steps per round and side.")
    flags.DEFINE_integer("warmup", 2, "Untimed training steps per side before the first round.")
    flags.DEFINE_integer("num_batches", 2, "Distinct random batches, cycled (both sides see the same sequence).")
    flags.DEFINE_float("learning_rate", 5e-5, "AdamW learning rate (both sides).")
    flags.DEFINE_integer("threads", 0, "TF intra-op threads = torch threads (0: all cores).")
    flags.DEFINE_float("settle", 0.3, "Idle seconds after each timed round, so one library's spinning worker "
                       "threads do not run into the other's timing.")
    flags.DEFINE_string("note", "", "A remark recorded with the results (e.g. machine load).")
    flags.DEFINE_bool("write", False, "Replace this benchmark's section of BENCHMARKS.md.")


def random_batches(count, batch_size, seq_length, vocab_size, cls_id, sep_id, seed=0):
    """`count` QA batches of int32 numpy arrays: input_word_ids, input_mask, input_type_ids,
    start_positions, end_positions (the answer span lies inside the passage)."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        ids = rng.integers(1000, vocab_size, size=(batch_size, seq_length)).astype("int32")
        ids[:, 0] = cls_id
        ids[:, QUESTION_LENGTH - 1] = sep_id
        ids[:, -1] = sep_id
        types = np.zeros_like(ids)
        types[:, QUESTION_LENGTH:] = 1
        start = rng.integers(QUESTION_LENGTH, seq_length - 20, size=batch_size).astype("int32")
        end = (start + rng.integers(0, 15, size=batch_size)).astype("int32")
        batches.append(dict(input_word_ids=ids, input_mask=np.ones_like(ids), input_type_ids=types,
                            start_positions=start, end_positions=end))
    return batches


def _hf_qa_directory(directory):
    """all-MiniLM-L6-v2 as a BertForQuestionAnswering with a seeded random span head."""
    import torch
    import transformers

    from export.main_job import minilm_dir

    torch.manual_seed(0)
    model = transformers.BertForQuestionAnswering.from_pretrained(str(minilm_dir()))
    model.save_pretrained(directory, safe_serialization=True)
    return directory, model.config


def ours_runner(model_dir, batches):
    """A function that trains our QA model one step on the next batch and returns its loss."""
    import keras
    import tensorflow as tf

    import official_encoders
    from official_encoders.finetune.params import FinetuneParams
    from official_encoders.finetune.question_answering import QuestionAnsweringTask
    from official_encoders.finetune.training import make_train_step

    strategy = tf.distribute.get_strategy()
    model = official_encoders.from_pretrained(model_dir, task="question_answering")
    optimizer = keras.optimizers.AdamW(learning_rate=FLAGS.learning_rate, weight_decay=0.01, epsilon=1e-8)
    # The fine-tuning run's own QA loss (BertForQuestionAnswering's: mean of start and end cross-entropies).
    qa_loss = QuestionAnsweringTask(FinetuneParams(task="question_answering")).loss
    step = make_train_step(model, qa_loss, optimizer, strategy)
    feeds = [({k: tf.constant(b[k]) for k in ("input_word_ids", "input_mask", "input_type_ids")},
              {k: tf.constant(b[k]) for k in ("start_positions", "end_positions")}) for b in batches]
    counter = iter(range(10 ** 9))

    def run():
        inputs, targets = feeds[next(counter) % len(feeds)]
        return float(step(inputs, targets))

    return run, model.count_params()


def hf_runner(model_dir, batches):
    """A function that trains HF's BertForQuestionAnswering one step on the next batch."""
    import torch
    import transformers

    model = transformers.BertForQuestionAnswering.from_pretrained(model_dir).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=FLAGS.learning_rate, weight_decay=0.01, eps=1e-8,
                                  fused=True)
    feeds = [dict(input_ids=torch.from_numpy(b["input_word_ids"].astype("int64")),
                  attention_mask=torch.from_numpy(b["input_mask"].astype("int64")),
                  token_type_ids=torch.from_numpy(b["input_type_ids"].astype("int64")),
                  start_positions=torch.from_numpy(b["start_positions"].astype("int64")),
                  end_positions=torch.from_numpy(b["end_positions"].astype("int64"))) for b in batches]
    counter = iter(range(10 ** 9))

    def run():
        loss = model(**feeds[next(counter) % len(feeds)]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    return run, sum(p.numel() for p in model.parameters())


def set_threads(threads):
    """Sets TF's intra-op threads and torch's threads to `threads` (0: all cores); returns the number."""
    import tensorflow as tf
    import torch

    threads = threads or os.cpu_count()
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    torch.set_num_threads(threads)
    return threads


def measure(runners):
    """Interleaved rounds: {side: [seconds per round]} and {side: [losses of the measured steps]}."""
    for label, run in runners.items():
        print(f"warm-up: {label}, {FLAGS.warmup} steps", flush=True)
        for _ in range(FLAGS.warmup):
            run()
    seconds = {label: [] for label in runners}
    losses = {label: [] for label in runners}
    for round_index in range(FLAGS.rounds):
        for label, run in runners.items():
            started = time.perf_counter()
            round_losses = [run() for _ in range(FLAGS.steps)]
            seconds[label].append(time.perf_counter() - started)
            losses[label] += round_losses
            time.sleep(FLAGS.settle)
        print(f"round {round_index + 1}/{FLAGS.rounds}: " + ", ".join(
            f"{label} {FLAGS.steps / seconds[label][-1]:.3f} steps/s, losses "
            + " ".join(f"{x:.3f}" for x in losses[label][-FLAGS.steps:]) for label in runners), flush=True)
    return seconds, losses


def went_down(losses, window=None):
    """Whether the mean loss of the last `window` measured steps is below that of the first."""
    window = window or max(1, min(FLAGS.steps, len(losses) // 2))
    return float(np.mean(losses[-window:])) < float(np.mean(losses[:window]))


def main(argv):
    del argv
    import tensorflow as tf
    import torch
    import transformers

    threads = set_threads(FLAGS.threads)
    with tempfile.TemporaryDirectory() as work:
        model_dir, config = _hf_qa_directory(os.path.join(work, "hf_qa"))
        batches = random_batches(FLAGS.num_batches, FLAGS.batch_size, FLAGS.seq_length, config.vocab_size,
                                 cls_id=101, sep_id=102)
        print(f"building both models from {model_dir}; threads {threads}", flush=True)
        ours, ours_params = ours_runner(model_dir, batches)
        hf, hf_params = hf_runner(model_dir, batches)
        seconds, losses = measure({"ours": ours, "hf": hf})
    rates = {label: [FLAGS.steps / s for s in values] for label, values in seconds.items()}
    median = {label: statistics.median(values) for label, values in rates.items()}
    round_ratios = [o / h for o, h in zip(rates["ours"], rates["hf"])]
    ratio = median["ours"] / median["hf"]
    down = {label: went_down(values) for label, values in losses.items()}
    load = os.getloadavg()[0]
    print("\nSummary:")
    print(f"  parameters: ours {ours_params:,}, HF {hf_params:,}")
    for label in ("ours", "hf"):
        print(f"  {label}: {median[label]:.3f} steps/s (median of {FLAGS.rounds} rounds: "
              + ", ".join(f"{r:.3f}" for r in rates[label]) + f"); loss {losses[label][0]:.3f} -> "
              f"{losses[label][-1]:.3f}, went down: {down[label]}")
    print(f"  ours/HF: {ratio:.2f}x (per round: " + ", ".join(f"{r:.2f}" for r in round_ratios)
          + f"; median {statistics.median(round_ratios):.2f}); target 1.0x: {'met' if ratio >= 1.0 else 'NOT met'}")
    print(f"  threads: TF intra-op = torch = {threads}; load average at the end {load:.2f}")
    if FLAGS.write:
        note = f"\nNote: {FLAGS.note}\n" if FLAGS.note else ""
        write_section(f"""## Question-answering training steps (bench/bench_qa_training.py)

Command: `python -m bench.bench_qa_training --rounds={FLAGS.rounds} --steps={FLAGS.steps} \
--warmup={FLAGS.warmup} --write`. TF {tf.__version__}, Keras 3, torch {torch.__version__}, \
transformers {transformers.__version__}; threads: TF intra-op = torch = {threads}.
{note}
all-MiniLM-L6-v2 (L=6, H=384, A=12, I=1536; {hf_params:,} trained parameters; ours also holds the
{ours_params - hf_params:,} of the pooler, which the span head never reads) with a seeded random span head,
from one Hugging Face directory on both sides. Batch {FLAGS.batch_size}, seq_length {FLAGS.seq_length},
{FLAGS.num_batches} random token batches cycled (the same on both sides), dropout on, HF's QA loss (mean
of the start and end cross-entropies), AdamW lr {FLAGS.learning_rate:g}, eps 1e-8, weight decay 0.01.
Ours: `make_train_step` (default strategy) with keras AdamW; HF: BertForQuestionAnswering, eager
torch, `torch.optim.AdamW(fused=True)` (transformers' Trainer default). {FLAGS.warmup} warm-up steps
per side untimed, then {FLAGS.rounds} interleaved rounds of {FLAGS.steps} steps per side; median round.

| | steps/s (median) | per round | loss first -> last measured step | loss went down |
|---|---:|---|---|---|
| ours (make_train_step) | {median['ours']:.3f} | {', '.join(f'{r:.3f}' for r in rates['ours'])} | \
{losses['ours'][0]:.3f} -> {losses['ours'][-1]:.3f} | {down['ours']} |
| HF BertForQuestionAnswering | {median['hf']:.3f} | {', '.join(f'{r:.3f}' for r in rates['hf'])} | \
{losses['hf'][0]:.3f} -> {losses['hf'][-1]:.3f} | {down['hf']} |

Ours/HF: {ratio:.2f}x (per round {', '.join(f'{r:.2f}' for r in round_ratios)}; median of the per-round
ratios {statistics.median(round_ratios):.2f}). Target 1.0x: {'met' if ratio >= 1.0 else 'NOT met'}.
Load average at the end: {load:.2f} on {os.cpu_count()} cores (shared machine).
""")
    return 0 if all(down.values()) else 1


if __name__ == "__main__":
    define_flags()
    app.run(main)
