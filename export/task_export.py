"""Text-in task SavedModels: a task model with its tokenizer and post-processing in one graph,
still Reusable for fine-tuning.

Object graph of a classification-style export (`--export_type=sequence_classification`, ...):

    root            __call__(encoder inputs, training=False) -> {"logits": ...}: the Reusable
                    form, for `hub.KerasLayer(handle, trainable=True)` fine-tuning
                    variables, trainable_variables, regularization_losses
                    vocab_file (Asset) + do_lower_case, or sp_model_file; labels_file (labels.txt)
                    signatures: serving_default, raw strings in (see official_encoders.serving)
    root.encoder    the encoder's Reusable form, the same variables
    root.serving    the in-graph serving module: tokenizer, packing, windows, post-processing

Multiple-choice roots take [batch, num_choices, seq] encoder inputs.

Object graph of a question-answering export:

    root            __call__(encoder inputs, training=False) -> {"start_logits", "end_logits"} [B, S]
                    vocab_file (Asset) + do_lower_case, or sp_model_file; labels_file (Asset: the
                    head's columns)
                    signatures: serving_default(question, context) -> answer, start, end, score;
                                logits(encoder inputs) -> start_logits, end_logits
    root.encoder    the encoder's Reusable form, on the same variables
    root.answer     the in-graph server (official_encoders.serving.question_answering)
"""

import pathlib

import tensorflow as tf

from export import saved_model
from official_encoders.serving import question_answering
from official_encoders.serving.multiple_choice import MultipleChoiceServing
from official_encoders.serving.sequence_classification import SequenceClassificationServing
from official_encoders.serving.text_inputs import TextPacker
from official_encoders.serving.text_serving import write_tf_serving_json
from official_encoders.serving.token_classification import TokenClassificationServing
from preprocessors.tokenizer_factory import make_tokenizer

LABELS_FILE = "labels.txt"
# task -> (model, packer, labels, text_pairs) -> its serving module.
SERVING_BUILDERS = {
    "sequence_classification": lambda model, packer, labels, text_pairs: SequenceClassificationServing(
        model, packer, labels, text_pairs=text_pairs),
    "token_classification": lambda model, packer, labels, text_pairs: TokenClassificationServing(
        model, packer, labels),
    "multiple_choice": lambda model, packer, labels, text_pairs: MultipleChoiceServing(model, packer),
}
TASK_EXPORT_TYPES = tuple(SERVING_BUILDERS)
# What each serving_default returns (for the manifest and the card); B batch, C labels.
SERVING_OUTPUTS = {
    "sequence_classification": {"probabilities": "float32 [B, C]", "label": "string [B]", "score": "float32 [B]"},
    "sequence_regression": {"score": "float32 [B]"},
    "token_classification": {"entity_group": "string [B, E]", "start": "int32 [B, E]", "end": "int32 [B, E]",
                             "score": "float32 [B, E]", "word": "string [B, E]", "num_entities": "int32 [B]"},
    "multiple_choice": {"probabilities": "float32 [B, K]", "choice": "int32 [B]"},
}
TASKS_WITH_LABELS = ("sequence_classification", "token_classification")


def label_names(task_model):
    """The label names by class index: the model's id2label, else LABEL_0, LABEL_1, ... as HF names them."""
    id2label = getattr(task_model, "id2label", None) or {}
    return [str(id2label.get(i, f"LABEL_{i}")) for i in range(task_model.num_labels)]


def input_rank(task):
    return 3 if task == "multiple_choice" else 2


def _reusable_root(task_model, outputs, labels, labels_dir, *, vocab_file=None, sp_model_file=None,
                   do_lower_case=None, input_rank=2):
    """The Reusable part of every task export: the root's `outputs`, `.encoder` on the same
    variables, the vocabulary asset, and `labels` (if any) as labels.txt written into `labels_dir`."""
    root = saved_model.ReusableModule(task_model, outputs=outputs, input_rank=input_rank)
    root.encoder = saved_model.ReusableModule(task_model.encoder)
    saved_model.attach_vocabulary(root, vocab_file, sp_model_file, do_lower_case)
    if labels:
        if labels_dir is None:
            raise ValueError("task exports carry their labels as an asset: pass labels_dir=.")
        path = pathlib.Path(labels_dir) / LABELS_FILE
        path.write_text("".join(f"{label}\n" for label in labels), encoding="utf-8")
        root.labels_file = tf.saved_model.Asset(str(path))
    return root


def build_task_module(task_model, task, *, vocab_file=None, sp_model_file=None, do_lower_case=None,
                      text_pairs=False, labels_dir=None, max_seq_length=None):
    """The root of a task export (see the module doc) around `task_model` (official_encoders.tasks).

    Args:
      task_model: a task model whose `.task` is `task`.
      task: one of TASK_EXPORT_TYPES.
      vocab_file / sp_model_file / do_lower_case: the vocabulary (exactly one file).
      text_pairs: sequence classification only: serve `text` and `text_pair`.
      labels_dir: a directory for labels.txt, which the SavedModel copies as an asset
        (needed for tasks with labels).
      max_seq_length: the longest packed input served (longer ones are truncated); default the
        encoder's max_position_embeddings (a fine-tuned model: the seq_length it was trained with).

    Example:

        root = build_task_module(model, "sequence_classification", vocab_file="vocab.txt",
                                 labels_dir=tmp)
        save_task_model(root, "hub/local/my_classifier/1", "sequence_classification")
    """
    if task not in SERVING_BUILDERS:
        raise ValueError(f"--export_type {task!r} is not a task export; use one of {', '.join(TASK_EXPORT_TYPES)}.")
    if getattr(task_model, "task", task) != task:
        raise ValueError(f"--export_type={task} but the source's task model is {task_model.task}; "
                         f"pass --export_type={task_model.task} or a {task} checkpoint.")
    if text_pairs and task != "sequence_classification":
        raise ValueError(f"--text_pairs applies to sequence_classification only, not {task}; drop it.")
    config = task_model.encoder.config
    labels = label_names(task_model) if task in TASKS_WITH_LABELS else []
    root = _reusable_root(task_model, ("logits",), labels, labels_dir, vocab_file=vocab_file,
                          sp_model_file=sp_model_file, do_lower_case=do_lower_case, input_rank=input_rank(task))
    packer = TextPacker(make_tokenizer(vocab_file, sp_model_file, do_lower_case),
                        max_seq_length=max_seq_length or config.max_position_embeddings,
                        type_vocab_size=config.type_vocab_size)
    root.serving = SERVING_BUILDERS[task](task_model, packer, labels, text_pairs)
    return root


def serving_outputs(root, task):
    """{output name: dtype and shape} of `root`'s serving_default."""
    if task == "sequence_classification" and root.serving.regression:
        return SERVING_OUTPUTS["sequence_regression"]
    return SERVING_OUTPUTS[task]


def manifest_entries(root, task, text_pairs=False):
    """What MANIFEST.json says about a task export: task, labels, serving inputs and outputs."""
    return {"task": task, "labels": list(getattr(root.serving, "labels", ())), "text_pairs": bool(text_pairs),
            "serving_default": {"inputs": list(root.serving.input_names),
                                "outputs": serving_outputs(root, task)}}


def save_task_model(root, export_dir, task):
    """Writes `root` (from build_task_module) with its text-in `serving_default` signature, and
    `assets.extra/tf_serving.json` (inputs, outputs, labels and the custom ops TF Serving needs)."""
    tf.saved_model.save(root, str(export_dir), signatures={"serving_default": root.serving.serving_function()})
    return write_tf_serving_json(str(export_dir), list(root.serving.input_names), serving_outputs(root, task),
                                 labels=list(getattr(root.serving, "labels", ())), task=task)


# ---------------------------------------------------------------- question answering


SPAN_OUTPUTS = ("start_logits", "end_logits")
SPAN_LABELS = ("start", "end")  # the span head's two columns, in order


def build_question_answering_module(task_model, tokenizer, *, vocab_file=None, sp_model_file=None, do_lower_case,
                                    labels_dir, **settings):
    """The root object of a QA export for a span model (`SpanLabeler`) and its tokenizer.

    Args:
      task_model: a Keras model mapping encoder inputs to {"start_logits", "end_logits"},
        with `.encoder`.
      tokenizer: the model's tokenizer (`make_tokenizer`: WordPiece or SentencePiece).
      vocab_file / sp_model_file, do_lower_case: the vocabulary asset (one of the two) and its case handling.
      labels_dir: a directory for labels.txt (the head's columns), copied as an asset.
      **settings: QuestionAnsweringServer settings (max_seq_length, doc_stride,
        max_query_length, max_answer_length, version_2_with_negative).
    """
    root = _reusable_root(task_model, SPAN_OUTPUTS, SPAN_LABELS, labels_dir, vocab_file=vocab_file,
                          sp_model_file=sp_model_file, do_lower_case=do_lower_case)
    root.answer = question_answering.QuestionAnsweringServer(task_model, tokenizer, **settings)
    return root


def save_question_answering_model(module, export_dir):
    """Writes `module` (build_question_answering_module) with its signatures and TF Serving notes."""
    signatures = {"serving_default": module.answer.__call__.get_concrete_function(),
                  "logits": module.signature()}
    tf.saved_model.save(module, str(export_dir), signatures=signatures)
    return write_tf_serving_json(str(export_dir), question_answering.INPUTS, question_answering.OUTPUTS,
                                 labels=SPAN_LABELS, task="question_answering", settings=module.answer.settings)
