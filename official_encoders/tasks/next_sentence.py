"""NextSentencePredictor: BERT's next-sentence-prediction head."""

import keras

from official_encoders.tasks.base import TaskModel
from official_encoders.tasks.names import NEXT_SENTENCE_PREDICTION


@keras.saving.register_keras_serializable(package="official_encoders")
class NextSentencePredictor(TaskModel):
    """An encoder with BERT's pretraining NSP head (HF `BertForNextSentencePrediction`, the
    `cls.seq_relationship` layer of `BertForPreTraining`): `classifier/output` [H, 2] on
    `pooled_output`, no dropout.

    Call contract (for serving wrappers): `model(inputs, training=False)` with the dict of
    int32 `[B, S]` encoder inputs (sentence A as segment 0, B as segment 1); returns
    `{"logits": float32 [B, 2]}`, where class 0 means B follows A and class 1 that B is random.

    Args:
      encoder: a BertEncoder, AlbertEncoder or ElectraEncoder (shared, not copied: `.encoder`).
      num_labels: 2 or left out.
      id2label: default {0: "is_next", 1: "not_next"}.
      **kwargs: passed to `keras.Model` (`name`, ...).

    Example:
    >>> import numpy as np
    >>> from official_encoders import EncoderConfig, NextSentencePredictor, build_encoder
    >>> encoder = build_encoder(EncoderConfig(vocab_size=100, hidden_size=16, num_layers=2,
    ...                                       num_heads=2, intermediate_size=32))
    >>> model = NextSentencePredictor(encoder)
    >>> ids = np.array([[2, 7, 3, 9, 3]], "int32")
    >>> out = model({"input_word_ids": ids, "input_mask": np.ones_like(ids),
    ...              "input_type_ids": np.array([[0, 0, 0, 1, 1]], "int32")})
    >>> tuple(out["logits"].shape), model.id2label[0]
    ((1, 2), 'is_next')
    """

    task = NEXT_SENTENCE_PREDICTION
    fixed_num_labels = 2
    default_id2label = {0: "is_next", 1: "not_next"}

    def __init__(self, encoder, num_labels=None, id2label=None, dropout=0.0, head_activation=None, **kwargs):
        super().__init__(encoder, num_labels=num_labels, id2label=id2label or self.default_id2label,
                         dropout=dropout, head_activation=head_activation, **kwargs)

    @classmethod
    def reads_pooled_output(cls, family):
        return True

    def call(self, inputs, training=None):
        outputs = self.encode(inputs, training=training)
        return {"logits": self.classifier(outputs["pooled_output"], training=training)}
