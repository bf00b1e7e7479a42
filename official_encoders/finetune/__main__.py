"""python -m official_encoders.finetune: the fine-tuning CLI (see the package docstring)."""

import dataclasses
import json
import sys

from absl import app
from absl import flags

from official_encoders.finetune.distribute import split_cpu
from official_encoders.finetune.params import STRATEGIES, TASK_NAMES, FinetuneParams, apply_params_override
from official_encoders.finetune.run import run

FLAGS = flags.FLAGS
_DEFAULTS = FinetuneParams()
def define_flags():
    """Declares the flags; only when run as a program, so importing this module never clashes."""
    flags.DEFINE_enum("task", _DEFAULTS.task, TASK_NAMES, "What to fine-tune for (also task.type=).")
    flags.DEFINE_string("hub_module_url", None, "Encoder handle: path, http(s) URL or hub handle.")
    flags.DEFINE_string("preprocess_url", None, "Preprocessor handle (default: built from the encoder's vocab asset).")
    flags.DEFINE_string("init_checkpoint", None, "Encoder weights: tf1:/tf2:/hf:/preset: source, a checkpoint prefix (save_tf2, google-research TF1 or encoder/ root) or a .weights.h5 file.")
    flags.DEFINE_string("config_file", None, "Encoder config JSON for --init_checkpoint (bert_config.json or ours).")
    flags.DEFINE_string("vocab_file", None, "WordPiece vocabulary for --init_checkpoint.")
    flags.DEFINE_string("sp_model_file", None, "SentencePiece model for --init_checkpoint.")
    flags.DEFINE_bool("do_lower_case", _DEFAULTS.do_lower_case, "Lower-case text with --vocab_file.")
    flags.DEFINE_string("train_data", None, "Training examples, .tsv or .csv.")
    flags.DEFINE_string("eval_data", None, "Evaluation examples, .tsv or .csv (evaluated every epoch).")
    flags.DEFINE_string("text_columns", _DEFAULTS.text_columns, "One or two text columns (names or 0-based indices).")
    flags.DEFINE_string("label_column", _DEFAULTS.label_column, "Label column (name or 0-based index).")
    flags.DEFINE_bool("has_header", _DEFAULTS.has_header, "Whether the data files start with a header row.")
    flags.DEFINE_integer("seq_length", None, "Packed sequence length (the windows' max_seq_length for "
                         "question_answering); default 384 for question_answering, else 128.")
    flags.DEFINE_integer("epochs", _DEFAULTS.epochs, "Training epochs.")
    flags.DEFINE_integer("batch_size", _DEFAULTS.batch_size, "Global batch size.")
    flags.DEFINE_float("learning_rate", _DEFAULTS.learning_rate, "AdamW learning rate.")
    flags.DEFINE_float("dropout", _DEFAULTS.dropout, "Dropout before the classification layer.")
    flags.DEFINE_integer("num_labels", None, "sentence_prediction: 1 for regression (float labels, MSE, "
                         "pearson/spearman); default: the labels of the training data.")
    flags.DEFINE_bool("skip_bad_examples", False, "Count and skip bad records instead of stopping.")
    flags.DEFINE_integer("max_query_length", _DEFAULTS.max_query_length, "question_answering: question tokens kept.")
    flags.DEFINE_integer("doc_stride", _DEFAULTS.doc_stride, "question_answering: context tokens consecutive "
                         "windows share.")
    flags.DEFINE_integer("max_answer_length", _DEFAULTS.max_answer_length, "question_answering: longest answer, "
                         "in tokens.")
    flags.DEFINE_bool("version_2_with_negative", False, "question_answering: SQuAD v2.0, with unanswerable "
                      "questions.")
    flags.DEFINE_integer("n_best_size", _DEFAULTS.n_best_size, "question_answering: answers kept per question "
                         "in nbest_predictions.json.")
    flags.DEFINE_string("model_dir", None, "Output: eval_results.json, logs/ (TensorBoard), checkpoints/, "
                        "final/ (our tf2 format) and export/ (the serving SavedModel).")
    flags.DEFINE_integer("steps_per_checkpoint", _DEFAULTS.steps_per_checkpoint, "A checkpoint every N steps.")
    flags.DEFINE_integer("steps_per_loop", _DEFAULTS.steps_per_loop, "Steps between progress lines and "
                         "TensorBoard scalars.")
    flags.DEFINE_bool("resume", False, "Continue from the last checkpoint in <model_dir>/checkpoints.")
    flags.DEFINE_enum("distribution_strategy", _DEFAULTS.distribution_strategy, STRATEGIES, "tf.distribute strategy.")
    flags.DEFINE_integer("num_cpu_devices", 1, "Split the CPU into this many logical devices (for mirrored on CPU).")
    flags.DEFINE_integer("seed", 0, "Random seed.")
    flags.DEFINE_string("params_override", None, "Comma-separated key=value, e.g. task.hub_module_url=...,trainer.epochs=2.")


def params_from_flags():
    params = FinetuneParams()
    explicitly_set = set()
    for field in dataclasses.fields(FinetuneParams):
        if field.name in FLAGS:
            setattr(params, field.name, FLAGS[field.name].value)
            if FLAGS[field.name].present:
                explicitly_set.add(field.name)
    return apply_params_override(params, FLAGS.params_override, explicitly_set)


def quiet_library_logs():
    """TensorFlow's and Keras' INFO lines (e.g. the renamed signature inputs of the export) only
    with an explicit --verbosity: by default a run prints its progress and its summary."""
    if FLAGS["verbosity"].present:
        return
    import tensorflow as tf
    from absl import logging

    logging.set_verbosity(logging.WARNING)
    tf.get_logger().setLevel("ERROR")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    try:
        params = params_from_flags().validate()
    except ValueError as error:
        raise app.UsageError(str(error))
    split_cpu(params.num_cpu_devices)
    quiet_library_logs()
    summary = run(params, verbose=1 if sys.stdout.isatty() else 2)
    best = summary["best"]
    print(f"Fine-tuned {params.hub_module_url or params.init_checkpoint} for {params.task} on "
          f"{summary['examples']['train']} examples, {summary['steps']} steps in {params.epochs} epochs "
          f"({summary['replicas']} replica(s), {params.distribution_strategy}) in {summary['seconds']}s", flush=True)
    for kind in ("train", "eval"):
        skipped = summary["examples"]["skipped"][kind]
        if skipped:
            print(f"Skipped {len(skipped)} bad {kind} records, e.g. {skipped[0]}", flush=True)
    if best:
        print(f"Best epoch by {summary['monitor']}: {json.dumps(best, sort_keys=True)}", flush=True)
    print(f"Serving SavedModel: {summary['export_dir']}", flush=True)
    print(f"Checkpoint for `python -m export --source=tf2:...`: {summary['final_dir']}" if summary["final_dir"]
          else summary["final_note"], flush=True)
    print("SUMMARY " + json.dumps(summary, sort_keys=True), flush=True)


if __name__ == "__main__":
    define_flags()
    app.run(main)
