"""The output head every task model uses: an optional dense + activation, dropout, a projection."""

import keras
import tensorflow as tf

from official_encoders.layers.dense import Dense


@keras.saving.register_keras_serializable(package="official_encoders")
class ClassificationHead(keras.layers.Layer):
    """[..., H] features -> float32 [..., units] logits.

    With `inner_activation=None`: dropout, then `output` (the BERT/ALBERT heads, which
    read the pooled output or each token). With an activation: dropout (unless
    `dropout_before_dense=False`), `dense` [H, H] with that activation, dropout,
    `output` (ELECTRA's heads on the first token). Dropout acts only with `training=True`.

    Args:
      hidden_size: width of the features.
      units: number of logits per feature vector.
      inner_activation: None, or the activation of the `dense` layer before `output`
        (a name of `official_encoders.layers.activations`).
      dropout: dropout rate before each projection.
      dropout_before_dense: whether dropout also precedes `dense` (HF's
        ElectraClassificationHead does; ElectraSequenceSummary does not).
      initializer_range: stddev of the truncated-normal kernel initialiser.

    Example:
    >>> import numpy as np
    >>> from official_encoders.layers.classification_head import ClassificationHead
    >>> head = ClassificationHead(16, 3, name="classifier")
    >>> head.build(None)
    >>> tuple(head(np.ones((2, 16), "float32")).shape), [v.path for v in head.weights]
    ((2, 3), ['classifier/output/kernel', 'classifier/output/bias'])
    """

    def __init__(self, hidden_size, units, inner_activation=None, dropout=0.0, dropout_before_dense=True,
                 initializer_range=0.02, **kwargs):
        kwargs.setdefault("autocast", False)  # the Dense layers cast their inputs themselves
        super().__init__(**kwargs)
        self.hidden_size = int(hidden_size)
        self.units = int(units)
        self.inner_activation = inner_activation
        self.dropout = float(dropout)
        self.dropout_before_dense = bool(dropout_before_dense)
        self.initializer_range = float(initializer_range)
        common = dict(initializer_range=initializer_range, dtype=self.dtype_policy)
        self.dense = (Dense(hidden_size, hidden_size, activation=inner_activation, name="dense", **common)
                      if inner_activation is not None else None)
        self.output_projection = Dense(hidden_size, units, name="output", **common)

    def build(self, input_shape=None):
        if self.dense is not None:
            self.dense.build(None)
        self.output_projection.build(None)
        self.built = True

    def _dropout(self, x, training):
        if training and self.dropout > 0:
            return tf.nn.dropout(x, rate=self.dropout)
        return x

    def call(self, features, training=None):
        x = features
        if self.dense is not None:
            if self.dropout_before_dense:
                x = self._dropout(x, training)
            x = self.dense(x)
        x = self.output_projection(self._dropout(x, training))
        return tf.cast(x, tf.float32)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_size=self.hidden_size, units=self.units, inner_activation=self.inner_activation,
                      dropout=self.dropout, dropout_before_dense=self.dropout_before_dense,
                      initializer_range=self.initializer_range)
        return config
