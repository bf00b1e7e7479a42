"""TokenClassifier: one label per token (tagging, named entities)."""

import keras

from official_encoders.tasks.base import TaskModel
from official_encoders.tasks.names import TOKEN_CLASSIFICATION


@keras.saving.register_keras_serializable(package="official_encoders")
class TokenClassifier(TaskModel):
    """An encoder with a per-token classification head (HF `*ForTokenClassification`):
    dropout on `sequence_output`, then `classifier/output` [H, C]. The pooler is not used.

    Call contract (for serving wrappers): `model(inputs, training=False)` with the dict of
    int32 `[B, S]` encoder inputs; returns `{"logits": float32 [B, S, C]}`. Padded
    positions get logits too; read them under `input_mask`. `.id2label` names the tags.

    Args:
      encoder: a BertEncoder, AlbertEncoder or ElectraEncoder (shared, not copied: `.encoder`).
      num_labels: the number of tags C; may be left out with `id2label`.
      id2label: optional {id: name} for the C tags.
      dropout: the head's dropout rate; default the encoder's hidden_dropout.
      **kwargs: passed to `keras.Model` (`name`, ...).

    Example:
    >>> import numpy as np
    >>> from official_encoders import EncoderConfig, TokenClassifier, build_encoder
    >>> encoder = build_encoder(EncoderConfig(vocab_size=100, hidden_size=16, num_layers=2,
    ...                                       num_heads=2, intermediate_size=32))
    >>> model = TokenClassifier(encoder, id2label={0: "O", 1: "B-PER", 2: "I-PER"})
    >>> ids = np.array([[2, 7, 3, 0]], "int32")
    >>> out = model({"input_word_ids": ids, "input_mask": (ids > 0).astype("int32"),
    ...              "input_type_ids": np.zeros_like(ids)})
    >>> tuple(out["logits"].shape)
    (1, 4, 3)
    """

    task = TOKEN_CLASSIFICATION

    def call(self, inputs, training=None):
        outputs = self.encode(inputs, training=training)
        return {"logits": self.classifier(outputs["sequence_output"], training=training)}
