"""Question answering on long contexts: our QA serving model vs Hugging Face's QA pipeline (CPU torch).

    python -m bench.bench_question_answering [--pairs=16] [--rounds=3] [--batch_size=16] [--write]

The model is the real all-MiniLM-L6-v2 encoder (BERT, L=6, H=384) as a
BertForQuestionAnswering with a random span head, saved once as a Hugging Face
directory; both sides load that directory. Contexts are real multilingual passages
joined to about 2,500 characters (several 384-token windows each); the settings are
the pipeline's defaults (max_seq_length 384, doc_stride 128, max_query_length 64,
max_answer_length 15).

- ours: the exported question-answering SavedModel (hub.load), `serving_default`
  on batches of `--batch_size` pairs: tokenization, windows, encoder and span choice
  in one graph;
- Hugging Face: transformers 4.57's `pipeline("question-answering")`, one pair at a
  time as it runs, with torch on 1 thread (and on all threads with --hf_all_threads;
  the faster is compared).

The rule "one process" is broken on purpose: transformers 5 (the main venv's) has no
QA pipeline, so the reference runs in `.venv-qa-ref` as a second process
(bench.hf_qa_reference) and reports the time of its pipeline calls only. The sides
alternate round by round so that load from other processes hits both alike; the
median per side is reported, and the answers must be identical.
"""

import statistics
import tempfile
import time

from absl import app
from absl import flags

from bench.results import write_section

FLAGS = flags.FLAGS
SETTINGS = dict(max_seq_length=384, doc_stride=128, max_query_length=64, max_answer_length=15)


def define_flags():
    flags.DEFINE_integer("pairs", 16, "(question, context) pairs per round.")
    flags.DEFINE_integer("rounds", 3, "Interleaved rounds.")
    flags.DEFINE_integer("batch_size", 16, "Pairs per serving_default call.")
    flags.DEFINE_bool("hf_all_threads", False, "Also time the pipeline with torch on all threads (on a shared "
                      "2-core machine its spinning threads made it ~5x slower than on 1 thread).")
    flags.DEFINE_bool("write", False, "Replace this benchmark's section of BENCHMARKS.md.")


def _pairs(count):
    import random

    from tests.preprocessors.corpus_data import read_passages

    rng = random.Random(0)
    passages = [p for p in read_passages() if len(p) >= 40]
    pairs = []
    for _ in range(count):
        parts = []
        while sum(len(p) + 1 for p in parts) < 2500:
            parts.append(rng.choice(passages))
        context = " ".join(parts)
        source = rng.choice(parts).split()
        start = rng.randrange(max(1, len(source) - 4))
        # At most 40 characters: far below max_query_length tokens, which the pipeline does not apply.
        pairs.append((" ".join(source[start:start + 4])[:40] + "?", context))
    return pairs


def _hf_qa_directory(directory):
    """all-MiniLM-L6-v2 as a BertForQuestionAnswering (random span head), with its tokenizer files."""
    import shutil

    import torch
    import transformers

    from export.main_job import minilm_dir

    torch.manual_seed(0)
    model = transformers.BertForQuestionAnswering.from_pretrained(str(minilm_dir()))
    with torch.no_grad():  # a trained head's logits spread over several units, not the init's ~0.1
        model.qa_outputs.weight.normal_(0.0, 0.1)
    model.save_pretrained(directory, safe_serialization=True)
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        if (minilm_dir() / name).exists():
            shutil.copy(minilm_dir() / name, directory)
    return directory


def _export(model_dir, hub_root):
    from export import pipeline

    options = pipeline.ExportOptions(source=f"hf:{model_dir}", hub_root=hub_root,
                                     export_type="question_answering", name="minilm_qa", **SETTINGS)
    return pipeline.run_export(options, printer=lambda line: None).artifacts[0].path


def _ours(serve, pairs, batch_size):
    import tensorflow as tf

    answers = []
    started = time.perf_counter()
    for begin in range(0, len(pairs), batch_size):
        chunk = pairs[begin:begin + batch_size]
        out = serve(question=tf.constant([q for q, _ in chunk]), context=tf.constant([c for _, c in chunk]))
        answers += [(a.decode("utf-8"), int(s), int(e), float(p)) for a, s, e, p in
                    zip(out["answer"].numpy(), out["start"].numpy(), out["end"].numpy(), out["score"].numpy())]
    return answers, time.perf_counter() - started


def main(argv):
    del argv
    import os

    import tensorflow_hub as hub

    from bench.hf_qa_reference import ReferencePipeline

    pairs = _pairs(FLAGS.pairs)
    with tempfile.TemporaryDirectory() as work:
        model_dir = _hf_qa_directory(os.path.join(work, "hf"))
        print("exporting the QA serving model", flush=True)
        serve = hub.load(_export(model_dir, os.path.join(work, "hub"))).signatures["serving_default"]
        questions, contexts = [q for q, _ in pairs], [c for _, c in pairs]
        _ours(serve, pairs[:FLAGS.batch_size], FLAGS.batch_size)  # warm-up (tracing, first allocations)
        references = {"hf_1_thread": ReferencePipeline(model_dir, threads=1)}
        if FLAGS.hf_all_threads:
            references["hf_all_threads"] = ReferencePipeline(model_dir)
        times = {"ours": [], **{key: [] for key in references}}
        try:
            version = references["hf_1_thread"].version
            for reference in references.values():
                reference.answer(questions[:2], contexts[:2], **SETTINGS)  # warm-up
            mismatches = comparisons = 0
            for round_index in range(FLAGS.rounds):
                ours, seconds = _ours(serve, pairs, FLAGS.batch_size)
                times["ours"].append(seconds)
                for key, reference in references.items():
                    theirs, seconds = reference.answer(questions, contexts, **SETTINGS)
                    times[key].append(seconds)
                    for index, ((a, s, e, p), t) in enumerate(zip(ours, theirs)):
                        comparisons += 1
                        if (a, s, e) != (t["answer"], t["start"], t["end"]):
                            mismatches += 1
                            print(f"  mismatch on pair {index}: ours {(a, s, e, p)}, HF {t}", flush=True)
                print(f"round {round_index + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()),
                      flush=True)
        finally:
            for reference in references.values():
                reference.close()
    qps = {k: len(pairs) / statistics.median(v) for k, v in times.items()}
    best_hf = max(v for k, v in qps.items() if k != "ours")
    speedup = qps["ours"] / best_hf
    print("questions/s: " + ", ".join(f"{k} {v:.2f}" for k, v in qps.items())
          + f"; speed-up {speedup:.2f}x; answer mismatches {mismatches} of {comparisons}")
    all_threads = (f"| HF pipeline, torch all threads | {qps['hf_all_threads']:.2f} |\n"
                   if "hf_all_threads" in qps else
                   "\n(torch on all threads not timed here: --hf_all_threads; on this shared 2-core machine "
                   "it ran ~5x slower than on 1 thread.)\n")
    if FLAGS.write:
        write_section(f"""## Question answering on long contexts (bench/bench_question_answering.py)

Command: `python -m bench.bench_question_answering --pairs={FLAGS.pairs} --rounds={FLAGS.rounds} \
--batch_size={FLAGS.batch_size}{' --hf_all_threads' if FLAGS.hf_all_threads else ''} --write`.

all-MiniLM-L6-v2 (L=6, H=384) as BertForQuestionAnswering (random span head, weights N(0, 0.1)); {len(pairs)} real
multilingual (question, context) pairs, contexts ~2,500 characters (several 384-token windows);
max_seq_length 384, doc_stride 128, max_query_length 64, max_answer_length 15. Median of
{FLAGS.rounds} interleaved rounds. Ours: the exported serving SavedModel, {FLAGS.batch_size} pairs per
call. Hugging Face: transformers {version} `pipeline("question-answering")` (CPU torch), in its own
process (.venv-qa-ref; transformers 5 has no QA pipeline), timing its pipeline calls only.

| | questions/s |
|---|---|
| ours (serving_default) | {qps['ours']:.2f} |
| HF pipeline, torch 1 thread | {qps['hf_1_thread']:.2f} |
{all_threads}
Speed-up against the faster HF setting: {speedup:.2f}x (target 1.2x). Answer mismatches (text or
character offsets): {mismatches} of {comparisons} comparisons.
""")
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
