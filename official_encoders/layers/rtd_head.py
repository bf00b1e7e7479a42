"""ELECTRA's replaced-token-detection head: dense + activation, then one logit per token."""

import keras
import tensorflow as tf

from official_encoders.layers.dense import Dense


@keras.saving.register_keras_serializable(package="official_encoders")
class RtdHead(keras.layers.Layer):
    """Variables: dense (kernel [H, H]) and prediction (kernel [H, 1]); returns float32 [B, S]."""

    def __init__(self, hidden_size, activation="gelu", initializer_range=0.02, **kwargs):
        kwargs.setdefault("autocast", False)  # the layer casts its inputs itself
        super().__init__(**kwargs)
        self.hidden_size = int(hidden_size)
        self.activation = activation
        self.initializer_range = float(initializer_range)
        common = dict(initializer_range=initializer_range, dtype=self.dtype_policy)
        self.dense = Dense(hidden_size, hidden_size, activation=activation, name="dense", **common)
        self.prediction = Dense(hidden_size, 1, name="prediction", **common)

    def build(self, input_shape=None):
        self.dense.build(None)
        self.prediction.build(None)

    def call(self, sequence_output):
        logits = self.prediction(self.dense(sequence_output))  # [B, S, 1]
        return tf.cast(tf.squeeze(logits, axis=-1), tf.float32)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_size=self.hidden_size, activation=self.activation,
                      initializer_range=self.initializer_range)
        return config
