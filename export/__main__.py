"""`python -m export`: publish an encoder and/or its preprocessor as versioned SavedModels.

    python -m export --source=hf:/path/to/model --export_type=all --hub_root=./hub
    python -m export --source=tf1:/ckpt/bert_model.ckpt --config_file=bert_config.json \\
        --vocab_file=vocab.txt --export_type=model_with_mlm --hub_root=./hub
    python -m export --gc --hub_root=./hub            # remove stray temp dirs of killed exports

See README.md, "Exporting a model".
"""

import sys
import traceback

from absl import app, flags, logging

from export import pipeline

FLAGS = flags.FLAGS
flags.DEFINE_string("source", None, "hf:<dir> | tf1:<ckpt prefix> | tf2:<ckpt prefix> | preset:<name>.")
flags.DEFINE_string("config_file", None, "bert_config.json (or our config JSON) for tf1:/tf2: sources.")
flags.DEFINE_enum("export_type", "model", pipeline.EXPORT_TYPES,
                  "model: encoder; model_with_mlm: encoder with its .mlm (or .rtd) head; "
                  "preprocessing: the preprocessor only; all: encoder with heads and preprocessor.")
flags.DEFINE_string("hub_root", None, "Root of the hub tree to publish into.")
flags.DEFINE_string("publisher", "local", "Publisher directory under the hub root.")
flags.DEFINE_string("name", None, "Model name (default: the catalog's TF-Hub-style name for the config).")
flags.DEFINE_integer("version", None, "Version to publish (default: the next free integer). "
                     "An existing version is refused.", lower_bound=1)
flags.DEFINE_string("vocab_file", None, "WordPiece vocab.txt, when the source has none.")
flags.DEFINE_string("sp_model_file", None, "SentencePiece model, when the source has none.")
flags.DEFINE_boolean("do_lower_case", None, "Override the source's lower-casing setting.")
flags.DEFINE_integer("seq_length", 128, "The preprocessor's default sequence length.", lower_bound=2)
flags.DEFINE_boolean("legacy_v1", False, "Also trace the v1 list interface "
                     "[input_word_ids, input_mask, segment_ids] -> [pooled_output, sequence_output].")
flags.DEFINE_enum("dtype", "float32", ["float32", "mixed_float16", "mixed_bfloat16"],
                  "Keras dtype policy of the exported computation (outputs are float32).")
flags.DEFINE_string("changelog", None, "This version's changelog entry (default: 'Initial release.').")
flags.DEFINE_string("language", None, "Model card language tag (default: en, or multilingual for big vocabularies).")
flags.DEFINE_string("dataset", None, "Model card dataset tag, where known.")
flags.DEFINE_boolean("gc", False, "Remove temp directories and orphaned tarballs/cards left by killed "
                     "exports (older than --gc_older_than), then exit.")
flags.DEFINE_float("gc_older_than", 3600.0, "--gc: only entries at least this many seconds old.")
flags.DEFINE_boolean("gc_dry_run", False, "--gc: report what would be removed, remove nothing.")


def _gc():
    from export import publish

    stray = publish.find_stray(FLAGS.hub_root, FLAGS.gc_older_than)
    for path in stray:
        print(("would remove " if FLAGS.gc_dry_run else "removing ") + str(path))
    if not FLAGS.gc_dry_run:
        publish.remove_stray(stray)
    print(f"gc: {len(stray)} stray entr{'y' if len(stray) == 1 else 'ies'} "
          f"{'found' if FLAGS.gc_dry_run else 'removed'} under {FLAGS.hub_root}")


def main(argv):
    logging.set_verbosity(logging.WARNING)  # TensorFlow's INFO lines would drown the progress
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS.hub_root:
        raise app.UsageError("--hub_root is required.")
    if FLAGS.gc:
        return _gc()
    if not FLAGS.source:
        raise app.UsageError("--source is required (hf:<dir>, tf1:<ckpt>, tf2:<ckpt> or preset:<name>).")
    options = pipeline.ExportOptions(
        source=FLAGS.source, hub_root=FLAGS.hub_root, export_type=FLAGS.export_type,
        config_file=FLAGS.config_file, publisher=FLAGS.publisher, name=FLAGS.name, version=FLAGS.version,
        vocab_file=FLAGS.vocab_file, sp_model_file=FLAGS.sp_model_file, do_lower_case=FLAGS.do_lower_case,
        seq_length=FLAGS.seq_length, legacy_v1=FLAGS.legacy_v1, dtype=FLAGS.dtype, changelog=FLAGS.changelog,
        language=FLAGS.language, dataset=FLAGS.dataset)
    try:
        summary = pipeline.run_export(options, printer=lambda line: print(line, flush=True))
    except Exception as error:  # any failure: nothing was published (staging is removed)
        if not isinstance(error, (ValueError, KeyError, FileNotFoundError, FileExistsError)):
            traceback.print_exc()
        print(f"export failed: {error}\nNothing was published.", file=sys.stderr, flush=True)
        return 1
    print(summary.text(), flush=True)
    return 0


def run():
    app.run(main)


if __name__ == "__main__":
    run()
