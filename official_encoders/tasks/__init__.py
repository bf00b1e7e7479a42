"""Task models: an encoder with a head for classification, tagging, span QA, multiple choice or NSP.

Every task model is a `keras.Model` with `.encoder` (the very encoder, variables
shared), `.task` (its name in `TASKS`), `.id2label` (or None), `get_config`/
`from_config`, and `call(inputs, training)` returning a dict of float32 logits.
"""

from official_encoders.tasks.base import HEAD_NAME, TaskModel
from official_encoders.tasks.multiple_choice import MultipleChoiceClassifier
from official_encoders.tasks.names import (AUTO, MULTIPLE_CHOICE, NEXT_SENTENCE_PREDICTION, QUESTION_ANSWERING,
                                           SEQUENCE_CLASSIFICATION, TASKS, TOKEN_CLASSIFICATION, check_task)
from official_encoders.tasks.next_sentence import NextSentencePredictor
from official_encoders.tasks.sequence_classifier import SequenceClassifier
from official_encoders.tasks.span_labeler import SpanLabeler
from official_encoders.tasks.token_classifier import TokenClassifier

TASK_CLASSES = {
    SEQUENCE_CLASSIFICATION: SequenceClassifier,
    TOKEN_CLASSIFICATION: TokenClassifier,
    QUESTION_ANSWERING: SpanLabeler,
    MULTIPLE_CHOICE: MultipleChoiceClassifier,
    NEXT_SENTENCE_PREDICTION: NextSentencePredictor,
}


def build_task_model(task, encoder, num_labels=None, id2label=None, **kwargs):
    """A task model of `task` (one of TASKS) around `encoder`, with a freshly initialised head.

    Args:
      task: the task name, e.g. "sequence_classification".
      encoder: the encoder to share.
      num_labels: the head's number of classes (classification and tagging; the other
        tasks fix it and take it only if it agrees).
      id2label: optional {id: name} label names.
      **kwargs: passed to the class (`dropout=`, `head_activation=`, `name=`).

    Example:
    >>> from official_encoders import EncoderConfig, build_encoder
    >>> from official_encoders.tasks import build_task_model
    >>> encoder = build_encoder(EncoderConfig(vocab_size=100, hidden_size=16, num_layers=2,
    ...                                       num_heads=2, intermediate_size=32))
    >>> model = build_task_model("token_classification", encoder, num_labels=5)
    >>> model.task, model.num_labels, model.encoder is encoder
    ('token_classification', 5, True)
    """
    return TASK_CLASSES[check_task(task)](encoder, num_labels=num_labels, id2label=id2label, **kwargs)


def pooler_is_optional(family, task):
    """Whether a checkpoint of `task` may lack the pooler: its head never reads `pooled_output`
    (Hugging Face builds no pooler for token classification and question answering). ELECTRA
    encoders have none in any checkpoint (their `not_in_checkpoints`)."""
    return task is not None and not TASK_CLASSES[check_task(task)].reads_pooled_output(family)


__all__ = ["AUTO", "HEAD_NAME", "MULTIPLE_CHOICE", "MultipleChoiceClassifier", "NEXT_SENTENCE_PREDICTION",
           "NextSentencePredictor", "QUESTION_ANSWERING", "SEQUENCE_CLASSIFICATION", "SequenceClassifier",
           "SpanLabeler", "TASKS", "TASK_CLASSES", "TOKEN_CLASSIFICATION", "TaskModel", "TokenClassifier",
           "build_task_model", "check_task", "pooler_is_optional"]
