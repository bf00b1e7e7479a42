"""Export benchmark: our pipeline vs TF Model Garden's export_tfhub, same config, one process.

    python -m bench.bench_export [--preset=bert_en_uncased_L-12_H-768_A-12]

Ours: `python -m export --source=preset:<name> --export_type=model` (random init from the
catalog), timed per stage; export = build + save + manifest/tarball/card/publish,
verify = the reload checks. Model Garden: `export_tfhub_lib.export_model` from a
checkpoint of its BertEncoder with the same config (writing that checkpoint is not
timed). Then both artifacts are loaded with `hub.KerasLayer`, alternately, best of
--load_repeats. Prints a markdown section for BENCHMARKS.md.
"""

import os
import pathlib
import platform
import shutil
import tempfile
import time

from absl import app, flags

from bench.results import write_section

FLAGS = flags.FLAGS


def define_flags():
    """Declares the flags; only when run as a program, so importing this module never clashes."""
    flags.DEFINE_string("preset", "bert_en_uncased_L-12_H-768_A-12", "Catalog entry to export (random init).")
    flags.DEFINE_integer("load_repeats", 3, "hub.KerasLayer loads per artifact (best is reported).")
    flags.DEFINE_string("work_dir", None, "Where to write (default: a temp dir, removed afterwards).")
    flags.DEFINE_bool("write", False, "Replace the Export section of BENCHMARKS.md with this run.")


def _cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _vocab(directory, size):
    """The bundled all-MiniLM-L6-v2 vocab.txt (BERT uncased) when sizes match, else a generated one."""
    from export.main_job import minilm_dir

    bundled = minilm_dir() / "vocab.txt"
    if sum(1 for line in open(bundled, encoding="utf-8") if line.strip()) == size:
        return str(bundled)
    path = pathlib.Path(directory) / "vocab.txt"
    path.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] +
                              [f"tok{i}" for i in range(size - 5)]) + "\n")
    return str(path)


def export_ours(work, vocab_file):
    from export import pipeline

    options = pipeline.ExportOptions(source=f"preset:{FLAGS.preset}", hub_root=str(work / "hub"),
                                     export_type="model", vocab_file=vocab_file, name="bench")
    start = time.perf_counter()
    summary = pipeline.run_export(options, printer=lambda line: print("  " + line, flush=True))
    total = time.perf_counter() - start
    seconds = dict(summary.seconds)
    load = seconds.pop("load source")
    verify = seconds.pop("verify encoder")
    (artifact,) = summary.artifacts
    return {"export": total - load - verify, "verify": verify, "init": load, "stages": seconds,
            "path": artifact.path, "size": artifact.size_bytes, "tarball": artifact.tarball_bytes,
            "weight_bytes": summary.num_params * 4, "num_params": summary.num_params}


def export_model_garden(work, config, vocab_file):
    import tensorflow as tf
    from official.legacy.bert import configs as mg_configs
    from official.nlp.tools import export_tfhub_lib

    bert_config = mg_configs.BertConfig(
        vocab_size=config.vocab_size, hidden_size=config.hidden_size, num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads, intermediate_size=config.intermediate_size,
        hidden_act="gelu", hidden_dropout_prob=config.hidden_dropout,
        attention_probs_dropout_prob=config.attention_dropout,
        max_position_embeddings=config.max_position_embeddings, type_vocab_size=config.type_vocab_size,
        initializer_range=config.initializer_range)
    encoder = export_tfhub_lib.get_bert_encoder(bert_config)
    checkpoint = tf.train.Checkpoint(encoder=encoder).save(str(work / "mg_ckpt" / "ckpt"))
    path = work / "mg_export"
    start = time.perf_counter()
    export_tfhub_lib.export_model(str(path), bert_config=bert_config, model_checkpoint_path=checkpoint,
                                  with_mlm=False, vocab_file=vocab_file, do_lower_case=True)
    seconds = time.perf_counter() - start
    from export.publish import directory_size

    return {"export": seconds, "path": str(path), "size": directory_size(path)}


def load_seconds(path):
    import tensorflow_hub as hub

    start = time.perf_counter()
    hub.KerasLayer(path, trainable=True)
    return time.perf_counter() - start


def main(argv):
    del argv
    import tensorflow as tf
    from official_encoders.models import presets

    config = presets.get_preset(FLAGS.preset).config
    work = pathlib.Path(FLAGS.work_dir or tempfile.mkdtemp(prefix="bench_export-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        vocab_file = _vocab(work, config.vocab_size)
        print(f"[1/3] ours: python -m export --source=preset:{FLAGS.preset} --export_type=model", flush=True)
        ours = export_ours(work, vocab_file)
        print("[2/3] Model Garden: export_tfhub_lib.export_model(with_mlm=False)", flush=True)
        mg = export_model_garden(work, config, vocab_file)
        print(f"[3/3] hub.KerasLayer load, alternating, best of {FLAGS.load_repeats}", flush=True)
        loads = {"ours": [], "mg": []}
        for _ in range(FLAGS.load_repeats):
            loads["ours"].append(load_seconds(ours["path"]))
            loads["mg"].append(load_seconds(mg["path"]))
        load_ours, load_mg = min(loads["ours"]), min(loads["mg"])
    finally:
        if not FLAGS.work_dir:
            shutil.rmtree(work, ignore_errors=True)

    size_ratio = ours["size"] / ours["weight_bytes"]
    time_ratio = (ours["export"] + ours["verify"]) / mg["export"]
    load_ratio = load_ours / load_mg
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in ours["stages"].items())
    lines = [
        "## Export",
        "",
        f"Machine: {_cpu()}, {os.cpu_count()} cores, TF {tf.__version__}; load average {os.getloadavg()[0]:.1f} at the end.",
        f"Command: `python -m bench.bench_export --preset={FLAGS.preset} --load_repeats={FLAGS.load_repeats}`",
        "",
        f"Model: {FLAGS.preset} (random init), {ours['num_params']:,} parameters = "
        f"{ours['weight_bytes'] / 1e6:.1f} MB of float32 weights. Ours: `--export_type=model`; "
        "Model Garden: `export_tfhub_lib.export_model(with_mlm=False)` from a checkpoint of its BertEncoder.",
        "",
        "| | ours | Model Garden | ratio | target |",
        "|---|---|---|---|---|",
        f"| export (s) | {ours['export']:.1f} | {mg['export']:.1f} | | |",
        f"| verify (s) | {ours['verify']:.1f} | - | | |",
        f"| export + verify vs MG export | {ours['export'] + ours['verify']:.1f} | {mg['export']:.1f} | "
        f"{time_ratio:.2f}x | < 2x: {'met' if time_ratio < 2 else 'NOT met'} |",
        f"| SavedModel size (MB) | {ours['size'] / 1e6:.1f} | {mg['size'] / 1e6:.1f} | "
        f"{size_ratio:.3f}x weights | <= 1.05x: {'met' if size_ratio <= 1.05 else 'NOT met'} |",
        f"| hub.KerasLayer load (s, best of {FLAGS.load_repeats}) | {load_ours:.2f} | {load_mg:.2f} | "
        f"{load_ratio:.2f}x | <= 1x: {'met' if load_ratio <= 1 else 'NOT met'} |",
        "",
        f"Our export stages: {stages}; the .tar.gz is {ours['tarball'] / 1e6:.1f} MB. "
        f"Preset init (not counted) took {ours['init']:.1f} s.",
        "",
        "Verification reloads the export (`hub.load`, and `hub.KerasLayer` in a tf_keras model), compares "
        "root outputs at two lengths with the Keras model, checks dropout and the trainable variable count, "
        "and differentiates the reloaded training graph once with a plain `tf.GradientTape`. Persistent-tape "
        "gradients are checked by the tests on every family at tiny sizes: at BERT-base, TensorFlow needs "
        "about 15 s to build the higher-order functions a persistent tape asks of a reloaded graph.",
    ]
    print("\n" + "\n".join(lines))
    if FLAGS.write:
        written = write_section("\n".join(lines))
        print(f"wrote the Export section of {written}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
