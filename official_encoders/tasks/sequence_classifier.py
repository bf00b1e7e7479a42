"""SequenceClassifier: one label (or a regression value) per input sequence."""

import keras

from official_encoders.tasks.base import TaskModel
from official_encoders.tasks.names import SEQUENCE_CLASSIFICATION


@keras.saving.register_keras_serializable(package="official_encoders")
class SequenceClassifier(TaskModel):
    """An encoder with a classification head on the whole sequence (HF `*ForSequenceClassification`).

    BERT and ALBERT: dropout on `pooled_output`, then `classifier/output` [H, C].
    ELECTRA: the first token's `sequence_output` -> dropout -> `classifier/dense` [H, H]
    with GELU -> dropout -> `classifier/output` [H, C], not the pooler.

    Call contract (for serving wrappers): `model(inputs, training=False)` with `inputs` a
    dict of int32 `[B, S]` tensors `input_word_ids`, `input_mask`, `input_type_ids`;
    returns `{"logits": float32 [B, C]}`. With `num_labels=1` the single logit is a
    regression value. `.id2label` names the classes (or is None).

    Args:
      encoder: a BertEncoder, AlbertEncoder or ElectraEncoder (shared, not copied: `.encoder`).
      num_labels: the number of classes C (1 for regression); may be left out with `id2label`.
      id2label: optional {id: name} for the C classes.
      dropout: the head's dropout rate; default the encoder's hidden_dropout.
      head_activation: "auto" (GELU dense for ELECTRA, none otherwise), None, or an activation name.
      **kwargs: passed to `keras.Model` (`name`, ...).

    Example:
    >>> import numpy as np
    >>> from official_encoders import EncoderConfig, SequenceClassifier, build_encoder
    >>> encoder = build_encoder(EncoderConfig(vocab_size=100, hidden_size=16, num_layers=2,
    ...                                       num_heads=2, intermediate_size=32))
    >>> model = SequenceClassifier(encoder, id2label={0: "negative", 1: "positive"})
    >>> ids = np.array([[2, 7, 3, 0]], "int32")
    >>> out = model({"input_word_ids": ids, "input_mask": (ids > 0).astype("int32"),
    ...              "input_type_ids": np.zeros_like(ids)})
    >>> tuple(out["logits"].shape), model.label2id["positive"], model.encoder is encoder
    ((1, 2), 1, True)
    """

    task = SEQUENCE_CLASSIFICATION
    sequence_level = True

    def call(self, inputs, training=None):
        outputs = self.encode(inputs, training=training)
        return {"logits": self.classifier(self.first_token_features(outputs), training=training)}
