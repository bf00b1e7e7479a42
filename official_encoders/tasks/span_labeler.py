"""SpanLabeler: extractive question answering as start and end logits per token."""

import keras
import tensorflow as tf

from official_encoders.tasks.base import TaskModel
from official_encoders.tasks.names import QUESTION_ANSWERING


@keras.saving.register_keras_serializable(package="official_encoders")
class SpanLabeler(TaskModel):
    """An encoder with a span-labelling head (HF `*ForQuestionAnswering`, Model Garden's
    BertSpanLabeler): `classifier/output` [H, 2] on every token of `sequence_output`, no
    dropout; column 0 gives the start logits, column 1 the end logits. The pooler is not used.

    Call contract (for serving wrappers): `model(inputs, training=False)` with the dict of
    int32 `[B, S]` encoder inputs (question as segment 0, passage as segment 1); returns
    `{"start_logits": float32 [B, S], "end_logits": float32 [B, S]}`. Nothing is masked:
    padding, the question and [CLS] get logits too, and the post-processing chooses
    which positions may start or end an answer.

    Args:
      encoder: a BertEncoder, AlbertEncoder or ElectraEncoder (shared, not copied: `.encoder`).
      num_labels: 2 or left out (the head always has a start and an end column).
      **kwargs: passed to `keras.Model` (`name`, ...).

    Example:
    >>> import numpy as np
    >>> from official_encoders import EncoderConfig, SpanLabeler, build_encoder
    >>> encoder = build_encoder(EncoderConfig(vocab_size=100, hidden_size=16, num_layers=2,
    ...                                       num_heads=2, intermediate_size=32))
    >>> model = SpanLabeler(encoder)
    >>> ids = np.array([[2, 7, 3, 9, 9, 3]], "int32")
    >>> out = model({"input_word_ids": ids, "input_mask": np.ones_like(ids),
    ...              "input_type_ids": np.array([[0, 0, 0, 1, 1, 1]], "int32")})
    >>> sorted(out), tuple(out["start_logits"].shape)
    (['end_logits', 'start_logits'], (1, 6))
    """

    task = QUESTION_ANSWERING
    fixed_num_labels = 2

    def __init__(self, encoder, num_labels=None, id2label=None, dropout=0.0, head_activation=None, **kwargs):
        super().__init__(encoder, num_labels=num_labels, id2label=id2label, dropout=dropout,
                         head_activation=head_activation, **kwargs)

    def call(self, inputs, training=None):
        outputs = self.encode(inputs, training=training)
        logits = self.classifier(outputs["sequence_output"], training=training)  # [B, S, 2]
        start_logits, end_logits = tf.unstack(logits, num=2, axis=-1)
        return {"start_logits": start_logits, "end_logits": end_logits}
