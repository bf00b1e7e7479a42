"""Task models as text-in serving SavedModels that stay Reusable for fine-tuning.

Object graph of a question-answering export:

    root            __call__(encoder inputs, training=False) -> {"start_logits", "end_logits"} [B, S]
                    variables, trainable_variables, regularization_losses (encoder + span head)
                    vocab_file (Asset) + do_lower_case, labels_file (Asset: the head's columns)
                    signatures: serving_default(question, context) -> answer, start, end, score;
                                logits(encoder inputs) -> start_logits, end_logits
    root.encoder    the encoder's Reusable form, on the same variables
    root.answer     the in-graph server (official_encoders.serving.question_answering)
"""

import pathlib
import tempfile

import tensorflow as tf

from export import saved_model
from official_encoders.serving import question_answering
from official_encoders.serving.text_serving import write_tf_serving_json

SPAN_OUTPUTS = ("start_logits", "end_logits")
SPAN_LABELS = ("start", "end")  # the span head's two columns, in order
LABELS_FILE = "labels.txt"


def labels_asset(labels):
    """An Asset of `labels`, one per line, from a temp file (the SavedModel keeps its own copy)."""
    directory = pathlib.Path(tempfile.mkdtemp(prefix="task_labels_"))
    path = directory / LABELS_FILE
    path.write_text("\n".join(labels) + "\n", encoding="utf-8")
    return tf.saved_model.Asset(str(path))


def build_question_answering_module(task_model, tokenizer, *, vocab_file, do_lower_case, **settings):
    """The root object of a QA export for a span model (`SpanLabeler`) and its WordPiece tokenizer.

    Args:
      task_model: a Keras model mapping encoder inputs to {"start_logits", "end_logits"},
        with `.encoder`.
      tokenizer: the `BertWordpieceTokenizer` of the model's vocabulary.
      vocab_file, do_lower_case: the vocabulary asset and its case handling.
      **settings: QuestionAnsweringServer settings (max_seq_length, doc_stride,
        max_query_length, max_answer_length, version_2_with_negative).
    """
    root = saved_model.ReusableModule(task_model, outputs=SPAN_OUTPUTS)
    root.encoder = saved_model.ReusableModule(task_model.encoder)
    root.answer = question_answering.QuestionAnsweringServer(task_model, tokenizer, **settings)
    root.vocab_file = tf.saved_model.Asset(str(vocab_file))
    root.do_lower_case = tf.Variable(bool(do_lower_case), trainable=False, name="do_lower_case")
    root.labels_file = labels_asset(SPAN_LABELS)
    return root


def save_question_answering_model(module, export_dir):
    """Writes `module` (build_question_answering_module) with its signatures and TF Serving notes."""
    signatures = {"serving_default": module.answer.__call__.get_concrete_function(),
                  "logits": module.signature()}
    tf.saved_model.save(module, str(export_dir), signatures=signatures)
    return write_tf_serving_json(str(export_dir), question_answering.INPUTS, question_answering.OUTPUTS,
                                 labels=SPAN_LABELS, task="question_answering", settings=module.answer.settings)
