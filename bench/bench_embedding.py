"""Text to sentence embedding, end to end, with the real all-MiniLM-L6-v2, in one process.

Runs on real multilingual passages (tests/data/multilingual_passages.txt) and compares:

- `official_encoders.encode` on the exported artifacts (length-sorted, dynamically packed batches);
- the fixed-128 artifacts as the model card showed them before (preprocessor at seq_length 128,
  then the encoder, then mean pooling and L2 normalisation);
- sentence-transformers `encode` (max_seq_length 128, batch 64, CPU torch, same thread count);
- HF `tokenizers` with padding="longest" plus transformers `BertModel`, mean pooled.

It also times the exported encoder against the in-memory Keras model at several sequence
lengths (same weights, same batches), and checks that every method's embedding of every text
has cosine >= 0.9999 with sentence-transformers'.

    python -m bench.bench_embedding --num_texts=2000 --rounds=3 --write
"""

import os
import tempfile
import time

from absl import app, flags
import numpy as np

from bench.results import write_section

FLAGS = flags.FLAGS
BATCH_SIZE = 64
MAX_SEQ_LENGTH = 128


def define_flags():
    flags.DEFINE_integer("num_texts", 2000, "Passages to embed (the corpus has 5,605).")
    flags.DEFINE_integer("rounds", 3, "Interleaved timed rounds; each runner's best round is reported.")
    flags.DEFINE_integer("threads", 0, "Threads for TF intra-op and torch (0: all cores).")
    flags.DEFINE_list("lengths", ["16", "32", "64", "128"], "Sequence lengths for the exported-vs-in-memory check.")
    flags.DEFINE_integer("length_rounds", 7, "Interleaved rounds per length for the exported-vs-in-memory check.")
    flags.DEFINE_list("parts", ["methods", "lengths"], "methods: the four ways from text to embedding; lengths: "
                      "the exported encoder against the in-memory model.")
    flags.DEFINE_bool("write", False, "Replace this benchmark's sections of BENCHMARKS.md.")


def _normalize(x):
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _min_cosine(a, b):
    return float(np.min(np.sum(_normalize(a) * _normalize(b), axis=1)))


def _export_minilm(hub_root):
    from export.main_job import minilm_dir
    from export.pipeline import ExportOptions, run_export

    summary = run_export(ExportOptions(source=f"hf:{minilm_dir()}", hub_root=hub_root, export_type="all"),
                         printer=lambda line: None)
    paths = {a.kind: a.path for a in summary.artifacts}
    return paths["encoder"], paths["preprocessing"]


def _length_stats(token_counts):
    counts = np.asarray(token_counts)
    return (f"tokens per passage (with [CLS]/[SEP]): mean {counts.mean():.1f}, median {np.median(counts):.0f}, "
            f"90th percentile {np.percentile(counts, 90):.0f}, max {counts.max()}; "
            f"{np.mean(counts >= MAX_SEQ_LENGTH):.1%} at {MAX_SEQ_LENGTH} or more (truncated)")


def _runners(texts, encoder_dir, preprocess_dir):
    import tensorflow as tf
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401  (registers the preprocessor's ops)
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

    from export.main_job import minilm_dir
    from official_encoders.embed import SentenceEncoder

    preprocess = hub.load(preprocess_dir)
    encoder = hub.load(encoder_dir)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def fixed_128(batch):
        inputs = preprocess(batch)
        sequence = encoder(inputs)["sequence_output"]
        mask = tf.cast(inputs["input_mask"], tf.float32)[:, :, None]
        pooled = tf.reduce_sum(sequence * mask, 1) / tf.maximum(tf.reduce_sum(mask, 1), 1e-9)
        return tf.math.l2_normalize(pooled, axis=1)

    def run_fixed():
        dataset = tf.data.Dataset.from_tensor_slices(texts).batch(BATCH_SIZE)
        return np.concatenate([fixed_128(batch).numpy() for batch in dataset])

    # encode() loads the model on every call; SentenceEncoder is the same code with the model loaded
    # once, as the peers' models are loaded once outside the timing.
    ours = SentenceEncoder(encoder_dir, batch_size=BATCH_SIZE, max_seq_length=MAX_SEQ_LENGTH, normalize=True)

    def run_ours():
        return ours.encode(texts).embeddings

    st_model = SentenceTransformer(str(minilm_dir()), device="cpu")
    st_model.max_seq_length = MAX_SEQ_LENGTH

    def run_st():
        return st_model.encode(texts, batch_size=BATCH_SIZE, convert_to_numpy=True, show_progress_bar=False)

    hf_tokenizer = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    hf_tokenizer.enable_truncation(MAX_SEQ_LENGTH)
    hf_tokenizer.enable_padding()  # to the longest of each batch
    bert = transformers.BertModel.from_pretrained(str(minilm_dir())).eval()

    def run_hf():
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH_SIZE):
                encodings = hf_tokenizer.encode_batch(texts[start:start + BATCH_SIZE])
                ids = torch.tensor([e.ids for e in encodings])
                mask = torch.tensor([e.attention_mask for e in encodings])
                hidden = bert(input_ids=ids, attention_mask=mask).last_hidden_state
                m = mask[:, :, None].float()
                out.append(torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)).numpy())
        return np.concatenate(out)

    return {
        "official_encoders encode (dynamic length)": run_ours,
        "exported artifacts at fixed 128 (the old card)": run_fixed,
        "sentence-transformers encode (torch)": run_st,
        "HF tokenizers padding=longest + BertModel (torch)": run_hf,
    }, hf_tokenizer


def _interleaved(runners, rounds):
    best, outputs = {}, {}
    for name, run in runners.items():  # warm-up: tracing, first allocations
        outputs[name] = run()
    for index in range(rounds):
        for name, run in runners.items():
            started = time.perf_counter()
            run()
            seconds = time.perf_counter() - started
            best[name] = min(best.get(name, seconds), seconds)
            print(f"round {index + 1}/{rounds} {name}: {seconds:.2f}s", flush=True)
    return best, outputs


def _exported_vs_in_memory(encoder_dir, lengths, rounds):
    """Seconds per batch of the exported encoder and of the in-memory Keras model, per length."""
    import tensorflow as tf
    import tensorflow_hub as hub

    from export.main_job import minilm_dir
    from official_encoders import from_pretrained

    exported = hub.load(encoder_dir)
    keras_model = from_pretrained(str(minilm_dir()))
    in_memory = tf.function(lambda inputs: keras_model(inputs, training=False))
    rng = np.random.default_rng(0)
    rows = []
    for length in lengths:
        ids = rng.integers(1000, 20000, size=(BATCH_SIZE, length)).astype("int32")
        inputs = {"input_word_ids": tf.constant(ids), "input_mask": tf.ones_like(ids),
                  "input_type_ids": tf.zeros_like(ids)}
        runners = {"exported": lambda: exported(inputs)["sequence_output"].numpy(),
                   "in_memory": lambda: in_memory(inputs)["sequence_output"].numpy()}
        best, outputs = _interleaved(runners, rounds)
        diff = float(np.max(np.abs(outputs["exported"] - outputs["in_memory"])))
        rows.append((length, best["exported"], best["in_memory"], diff))
    return rows


def _methods_section(texts, encoder_dir, preprocess_dir, threads):
    runners, hf_tokenizer = _runners(texts, encoder_dir, preprocess_dir)
    counter = hf_tokenizer.__class__.from_str(hf_tokenizer.to_str())
    counter.no_truncation()
    counter.no_padding()
    stats = _length_stats([len(e.ids) for e in counter.encode_batch(texts)])
    best, outputs = _interleaved(runners, FLAGS.rounds)
    reference = outputs["sentence-transformers encode (torch)"]
    st_seconds = best["sentence-transformers encode (torch)"]
    lines = ["| method | texts/s | vs sentence-transformers | min cosine to sentence-transformers |",
             "|---|---:|---:|---:|"]
    for name, seconds in best.items():
        lines.append(f"| {name} | {len(texts) / seconds:,.1f} | {st_seconds / seconds:.2f}x | "
                     f"{_min_cosine(outputs[name], reference):.6f} |")
    ours = st_seconds / best["official_encoders encode (dynamic length)"]
    ours_cos = _min_cosine(outputs["official_encoders encode (dynamic length)"], reference)
    lines += ["", f"Target: `encode` >= 1.5x sentence-transformers with cosine >= 0.9999 on every text: "
                  f"{'met' if ours >= 1.5 and ours_cos >= 0.9999 else 'NOT met'} ({ours:.2f}x, min cosine "
                  f"{ours_cos:.6f})."]
    table = "\n".join(lines)
    print(table)
    return ("## Text to embedding\n\n"
            f"Command: `python -m bench.bench_embedding --parts=methods --num_texts={FLAGS.num_texts} "
            f"--rounds={FLAGS.rounds} --write`. Threads: TF intra-op = torch = {threads}. Load average at the end: "
            f"{os.getloadavg()[0]:.2f}.\n\n"
            f"{len(texts)} real passages of tests/data/multilingual_passages.txt; {stats}. Model: the bundled "
            "all-MiniLM-L6-v2, exported with `python -m export --export_type=all`. Batch 64, max length 128, "
            f"best of {FLAGS.rounds} interleaved rounds after a warm-up; every method returns L2-normalised "
            "mean-pooled embeddings; ours is `official_encoders.embed.SentenceEncoder` (what `encode` runs) "
            "with the model loaded once, as the peers' are.\n\n" + table + "\n")


def _lengths_section(encoder_dir, threads):
    versus = _exported_vs_in_memory(encoder_dir, [int(n) for n in FLAGS.lengths], FLAGS.length_rounds)
    lines = ["| sequence length (batch 64) | exported ms/batch | in-memory ms/batch | exported / in-memory "
             "| max abs diff |", "|---:|---:|---:|---:|---:|"]
    worst = 0.0
    for length, exported, in_memory, diff in versus:
        worst = max(worst, exported / in_memory)
        lines.append(f"| {length} | {exported * 1e3:.1f} | {in_memory * 1e3:.1f} | {exported / in_memory:.3f} "
                     f"| {diff:.1e} |")
    lines += ["", f"Target: the exported encoder within 5% of the in-memory model at every length: "
                  f"{'met' if worst <= 1.05 else 'NOT met'} (worst {worst:.3f}x)."]
    table = "\n".join(lines)
    print(table)
    return ("## Exported encoder against the in-memory model\n\n"
            f"Command: `python -m bench.bench_embedding --parts=lengths --length_rounds={FLAGS.length_rounds} "
            f"--write`. Threads: TF intra-op = {threads}. Load average at the end: {os.getloadavg()[0]:.2f}.\n\n"
            "all-MiniLM-L6-v2 exported by `python -m export` (`hub.load`, one `[None, None]` signature, so no "
            "retracing per length) against the same weights as an in-memory Keras model under `tf.function`; "
            f"batch 64 of random ids, best of {FLAGS.length_rounds} interleaved rounds per length.\n\n"
            + table + "\n")


def main(argv):
    del argv
    import tensorflow as tf
    import torch

    from tests.preprocessors.corpus_data import read_passages

    unknown = set(FLAGS.parts) - {"methods", "lengths"}
    if unknown:
        raise app.UsageError(f"--parts: unknown {sorted(unknown)}; use methods and/or lengths.")
    threads = FLAGS.threads or os.cpu_count()
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    torch.set_num_threads(threads)
    passages = [p for p in read_passages() if p.strip()]
    texts = passages[:FLAGS.num_texts]
    sections = []
    with tempfile.TemporaryDirectory() as hub_root:
        print("exporting all-MiniLM-L6-v2 ...", flush=True)
        encoder_dir, preprocess_dir = _export_minilm(hub_root)
        if "methods" in FLAGS.parts:
            sections.append(_methods_section(texts, encoder_dir, preprocess_dir, threads))
        if "lengths" in FLAGS.parts:
            sections.append(_lengths_section(encoder_dir, threads))
    if FLAGS.write:
        for section in sections:
            write_section(section)


if __name__ == "__main__":
    define_flags()
    app.run(main)
