"""`python -m export`: publish an encoder and/or its preprocessor as versioned SavedModels.

    python -m export --source=hf:/path/to/model --export_type=all --hub_root=./hub
    python -m export --source=tf1:/ckpt/bert_model.ckpt --config_file=bert_config.json \\
        --vocab_file=vocab.txt --export_type=model_with_mlm --hub_root=./hub
    python -m export --source=hf:/path/to/bert-squad --export_type=question_answering --hub_root=./hub
    python -m export --gc --hub_root=./hub            # remove stray temp dirs of killed exports
    python -m export --verify=./hub/local/<name>/1    # check a published version against MANIFEST.json

See README.md, "Exporting a model".
"""

import os
import sys
import traceback

from absl import app, flags, logging

from export import pipeline

FLAGS = flags.FLAGS


def define_flags():
    """Declares the CLI flags; only when run as a program, so importing this module never clashes."""
    flags.DEFINE_string("source", None, "hf:<dir> | tf1:<ckpt prefix> | tf2:<ckpt prefix> | preset:<name>.")
    flags.DEFINE_string("config_file", None, "bert_config.json (or our config JSON) for tf1:/tf2: sources.")
    flags.DEFINE_enum("export_type", "model", pipeline.EXPORT_TYPES,
                      "model: encoder; model_with_mlm: encoder with its .mlm (or .rtd) head; "
                      "preprocessing: the preprocessor only; all: encoder with heads and preprocessor; "
                      "sequence_classification, token_classification, multiple_choice: a text-in task "
                      "model (raw strings in, tokenization and post-processing in the graph); "
                      "question_answering: a text-in serving model of a *ForQuestionAnswering source "
                      "(question, context -> answer, start, end, score).")
    flags.DEFINE_string("hub_root", None, "Root of the hub tree to publish into.")
    flags.DEFINE_string("publisher", "local", "Publisher directory under the hub root.")
    flags.DEFINE_string("name", None, "Model name (default: the source's identity in the hub's style, e.g. "
                        "sentence-transformers/all-MiniLM-L6-v2 -> all_minilm_l6_v2; a preset: keeps its catalog name).")
    flags.DEFINE_boolean("allow_config_change", False, "Publish a version whose config differs from the latest "
                         "version of its name (refused otherwise: a new architecture takes a new --name); "
                         "the changelog then says what changed.")
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
    flags.DEFINE_boolean("check_inputs", True, "Keep the in-graph checks of input_word_ids, input_type_ids "
                         "and input_mask values. false drops them, for TPU-style pipelines that validate ids "
                         "upstream (an out-of-range id is then not reported).")
    flags.DEFINE_boolean("text_pairs", None, "--export_type=sequence_classification: serve text pairs "
                         "(inputs text and text_pair) instead of single texts; needs segment types.")
    # Task exports' serving settings. Unset: what a fine-tuning run recorded with a tf2 source (its final/),
    # else the defaults: Hugging Face's question-answering pipeline's (384, 128, 64, 15, false).
    flags.DEFINE_integer("max_seq_length", None, "question_answering: tokens per window, [CLS] and [SEP]s "
                         "included (default 384); sequence_classification and the other task exports: the "
                         "longest packed input (default the encoder's max_position_embeddings).", lower_bound=8)
    flags.DEFINE_integer("doc_stride", None, "question_answering: how many context tokens consecutive windows "
                         "share (Hugging Face's meaning: the overlap; google-research BERT's doc_stride is the "
                         "step between window starts instead).", lower_bound=0)
    flags.DEFINE_integer("max_query_length", None, "question_answering: question tokens kept.", lower_bound=1)
    flags.DEFINE_integer("max_answer_length", None, "question_answering: the longest answer, in tokens.",
                         lower_bound=1)
    flags.DEFINE_boolean("version_2_with_negative", None, "question_answering: allow \"no answer\" (an empty "
                         "answer with start = end = 0), as SQuAD 2.0 models do.")
    flags.DEFINE_string("verify", None, "Check a published version directory against its MANIFEST.json "
                        "(sha256 of every file), report each file that fails, then exit (1 if any does).")
    flags.DEFINE_boolean("gc", False, "Remove temp directories and orphaned tarballs/cards left by killed "
                         "exports (older than --gc_older_than), then exit.")
    flags.DEFINE_float("gc_older_than", 3600.0, "--gc: only entries at least this many seconds old.")
    flags.DEFINE_boolean("gc_dry_run", False, "--gc: report what would be removed, remove nothing.")


def _gc():
    from export.publish import gc

    stray = gc.find_stray(FLAGS.hub_root, FLAGS.gc_older_than)
    for path in stray:
        print(("would remove " if FLAGS.gc_dry_run else "removing ") + str(path))
    if not FLAGS.gc_dry_run:
        gc.remove_stray(stray)
    print(f"gc: {len(stray)} stray entr{'y' if len(stray) == 1 else 'ies'} "
          f"{'found' if FLAGS.gc_dry_run else 'removed'} under {FLAGS.hub_root}")


def _check_integrity(version_dir):
    """--verify: the manifest hash check of a published version (not the export's reload parity)."""
    from official_encoders.hub.manifest import manifest_problems, read_manifest

    if not os.path.isdir(version_dir):
        print(f"verify: {version_dir} is not a directory; pass a version directory <hub_root>/<publisher>/"
              "<name>/<N>.", file=sys.stderr, flush=True)
        return 2
    problems = manifest_problems(version_dir, require=True)
    for problem in problems:
        print(f"FAILED {problem}", flush=True)
    if problems:
        print(f"verify: {version_dir} does not match its MANIFEST.json ({len(problems)} problem"
              f"{'' if len(problems) == 1 else 's'}); do not use it, re-export or re-download it.",
              file=sys.stderr, flush=True)
        return 1
    count = len(read_manifest(version_dir)["files"])
    print(f"verify: {version_dir} OK, {count} files match MANIFEST.json", flush=True)
    return 0


# Each mode (and each pair of exclusive flags): the flags that may not be combined with it.
_EXCLUSIVE = (
    ("verify", ("source", "gc", "version", "name", "vocab_file", "sp_model_file", "config_file",
                "allow_config_change")),
    ("gc", ("source", "version", "name", "vocab_file", "sp_model_file", "config_file", "allow_config_change")),
    ("vocab_file", ("sp_model_file",)),
)
_SOURCES_WITH_THEIR_OWN_CONFIG = ("hf:", "preset:")


def check_flag_conflicts():
    """Raises app.UsageError naming two flags that cannot go together, and what to do instead."""
    present = {name for name in FLAGS if FLAGS[name].present}
    for flag, excluded in _EXCLUSIVE:
        clash = sorted(present & set(excluded)) if flag in present else []
        if clash:
            raise app.UsageError(f"--{flag} cannot be combined with --{clash[0]}: "
                                 f"run --{flag} on its own, or drop --{flag} to export.")
    for flag in ("gc_older_than", "gc_dry_run"):
        if flag in present and "gc" not in present:
            raise app.UsageError(f"--{flag} only applies to --gc; add --gc or drop --{flag}.")
    source = FLAGS.source or ""
    if "config_file" in present and source.startswith(_SOURCES_WITH_THEIR_OWN_CONFIG):
        raise app.UsageError(f"--config_file is only for tf1:/tf2: sources; {source.split(':')[0]}: sources "
                             "carry their own config. Drop --config_file.")


def main(argv):
    logging.set_verbosity(logging.WARNING)  # TensorFlow's INFO lines would drown the progress
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    check_flag_conflicts()
    if FLAGS.verify:
        return _check_integrity(FLAGS.verify)
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
        language=FLAGS.language, dataset=FLAGS.dataset, check_inputs=FLAGS.check_inputs,
        allow_config_change=FLAGS.allow_config_change, text_pairs=FLAGS.text_pairs,
        max_seq_length=FLAGS.max_seq_length, doc_stride=FLAGS.doc_stride, max_query_length=FLAGS.max_query_length,
        max_answer_length=FLAGS.max_answer_length, version_2_with_negative=FLAGS.version_2_with_negative)
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
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
