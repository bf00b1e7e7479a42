"""Convert any supported source into our directory format (what from_pretrained reads from its cache).

    python -m export.convert --source=hf:/path/to/bert-base-uncased \
        --output_dir=~/.cache/official_encoders/bert_en_uncased_L-12_H-768_A-12

A fine-tuned source keeps its task head with --task=auto (or a task name):

    python -m export.convert --source=hf:/path/to/bert-base-cased-finetuned-mrpc --task=auto \
        --output_dir=~/.cache/official_encoders/finetuned_mrpc/bert_en_cased_L-12_H-768_A-12
"""

import os
import time

from absl import app, flags

from official_encoders.checkpoints import load_source
from official_encoders.checkpoints.task_import import Variables
from official_encoders.checkpoints.tf2 import save_pretrained

FLAGS = flags.FLAGS


def define_flags():
    """Declares the flags; only when run as a program, so importing this module never clashes."""
    flags.DEFINE_string("source", None, "hf:<dir>, tf1:<ckpt prefix>, tf2:<ckpt prefix> or preset:<name>.")
    flags.DEFINE_string("config_file", None, "bert_config.json for tf1:, encoder config JSON for tf2:.")
    flags.DEFINE_string("output_dir", None, "Directory to create (must not exist or be empty).")
    flags.DEFINE_list("allow_missing", [], "Source names or target paths that may be absent (e.g. bert/pooler).")
    flags.DEFINE_string("task", None, "Also keep a task head: 'auto' (the source's own) or a task name "
                        "(official_encoders.tasks.TASKS). Default: the encoder and its pretraining head only.")
    flags.DEFINE_integer("num_labels", None, "With --task: the classes of a fresh head, when the source has none.")
    flags.mark_flags_as_required(["source", "output_dir"])


def main(argv):
    del argv
    start = time.time()
    print(f"[1/2] importing {FLAGS.source}", flush=True)
    result = load_source(FLAGS.source, config_file=FLAGS.config_file, allow_missing=FLAGS.allow_missing,
                         task=FLAGS.task, num_labels=FLAGS.num_labels)
    print(result.report.summary(), flush=True)
    output = os.path.expanduser(FLAGS.output_dir)
    print(f"[2/2] writing {output}", flush=True)
    save_pretrained(result, output)
    size = sum(os.path.getsize(os.path.join(output, f)) for f in os.listdir(output))
    params = sum(int(v.numpy().size) for v in Variables(result.model, result.task_model).weights)
    print(f"\nsummary: {result.config.family} L={result.config.num_layers} H={result.config.hidden_size} "
          f"A={result.config.num_heads}, {params:,} parameters (with heads), {size / 1e6:.1f} MB in {output}, "
          f"task: {result.task_model.task if result.task_model is not None else 'none'}, "
          f"{time.time() - start:.1f}s")


if __name__ == "__main__":
    define_flags()
    app.run(main)
