"""MultipleChoiceClassifier: one score per candidate, the candidates compared by softmax."""

import keras
import tensorflow as tf

from official_encoders.tasks.base import TaskModel
from official_encoders.tasks.names import MULTIPLE_CHOICE
from preprocessors.packing import INPUT_KEYS


@keras.saving.register_keras_serializable(package="official_encoders")
class MultipleChoiceClassifier(TaskModel):
    """An encoder scoring K candidate sequences per example (HF `*ForMultipleChoice`).

    The `[B, K, S]` inputs are flattened to `[B*K, S]`, encoded, scored by
    `classifier/output` [H, 1] and reshaped to `[B, K]`. BERT and ALBERT score
    dropout(`pooled_output`); ELECTRA scores the first token through `classifier/dense`
    [H, H] with GELU and dropout (HF's sequence summary), not the pooler.

    Call contract (for serving wrappers): `model(inputs, training=False)` with a dict of
    int32 `[B, K, S]` tensors `input_word_ids`, `input_mask`, `input_type_ids` (each
    candidate packed as its own sequence); returns `{"logits": float32 [B, K]}`.

    Args:
      encoder: a BertEncoder, AlbertEncoder or ElectraEncoder (shared, not copied: `.encoder`).
      num_labels: 1 or left out (one score per candidate).
      dropout: the head's dropout rate; default the encoder's hidden_dropout.
      head_activation: "auto" (GELU dense for ELECTRA, none otherwise), None, or an activation name.
      **kwargs: passed to `keras.Model` (`name`, ...).

    Example:
    >>> import numpy as np
    >>> from official_encoders import EncoderConfig, MultipleChoiceClassifier, build_encoder
    >>> encoder = build_encoder(EncoderConfig(vocab_size=100, hidden_size=16, num_layers=2,
    ...                                       num_heads=2, intermediate_size=32))
    >>> model = MultipleChoiceClassifier(encoder)
    >>> ids = np.array([[[2, 7, 3, 5, 3], [2, 7, 3, 6, 3], [2, 7, 3, 8, 3]]], "int32")  # B=1, K=3
    >>> out = model({"input_word_ids": ids, "input_mask": np.ones_like(ids),
    ...              "input_type_ids": np.zeros_like(ids)})
    >>> tuple(out["logits"].shape)
    (1, 3)
    """

    task = MULTIPLE_CHOICE
    sequence_level = True
    fixed_num_labels = 1
    dropout_before_dense = False  # HF's ElectraSequenceSummary has no dropout before its projection

    def call(self, inputs, training=None):
        missing = [k for k in INPUT_KEYS if k not in inputs]
        if missing:
            raise KeyError(f"MultipleChoiceClassifier inputs are missing {missing}; expected [B, K, S] "
                           f"tensors {list(INPUT_KEYS)}")
        tensors = {k: tf.convert_to_tensor(inputs[k]) for k in INPUT_KEYS}
        for key, tensor in tensors.items():
            if tensor.shape.rank is not None and tensor.shape.rank != 3:
                raise ValueError(f"MultipleChoiceClassifier: {key} must have shape [batch, num_choices, "
                                 f"seq_length], got {tensor.shape}")
        shape = tf.shape(tensors["input_word_ids"])
        flat = {k: tf.reshape(t, [-1, shape[2]]) for k, t in tensors.items()}
        outputs = self.encode(flat, training=training)
        scores = self.classifier(self.first_token_features(outputs), training=training)  # [B*K, 1]
        return {"logits": tf.reshape(scores, [shape[0], shape[1]])}
