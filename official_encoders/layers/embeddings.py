"""Token-id embedding tables and the learned absolute position embedding."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="official_encoders")
class TokenEmbedding(keras.layers.Layer):
    """Looks ids up in `embeddings` [vocab_size, width]; also the tied MLM output table."""

    def __init__(self, vocab_size, width, initializer_range=0.02, **kwargs):
        kwargs.setdefault("autocast", False)  # the layer casts its inputs itself
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)
        self.width = int(width)
        self.initializer_range = float(initializer_range)

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.vocab_size, self.width),
            initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range))

    def call(self, ids):
        return tf.cast(tf.gather(self.embeddings, ids), self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, width=self.width, initializer_range=self.initializer_range)
        return config


def sequence_length_error(length, limit):
    return (f"input sequence length {length} exceeds max_position_embeddings={limit}; "
            f"truncate the inputs to at most {limit} tokens (e.g. the preprocessor's seq_length)")


@keras.saving.register_keras_serializable(package="official_encoders")
class PositionEmbedding(keras.layers.Layer):
    """Returns the first S rows of `embeddings` [max_length, width] as [1, S, width]."""

    def __init__(self, max_length, width, initializer_range=0.02, **kwargs):
        kwargs.setdefault("autocast", False)  # the layer casts its inputs itself
        super().__init__(**kwargs)
        self.max_length = int(max_length)
        self.width = int(width)
        self.initializer_range = float(initializer_range)

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            name="embeddings", shape=(self.max_length, self.width),
            initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range))

    def call(self, inputs):
        """`inputs` is any [B, S, ...] tensor; only its sequence length is used."""
        static_length = inputs.shape[1]
        if static_length is not None:
            if static_length > self.max_length:
                raise ValueError(sequence_length_error(static_length, self.max_length))
            table = self.embeddings[:static_length]
        else:
            length = tf.shape(inputs)[1]
            check = tf.debugging.assert_less_equal(
                length, self.max_length,
                message=sequence_length_error("S", self.max_length).replace("length S", "length"))
            with tf.control_dependencies([check]):
                table = self.embeddings[:length]
        return tf.cast(table, self.compute_dtype)[tf.newaxis]

    def get_config(self):
        config = super().get_config()
        config.update(max_length=self.max_length, width=self.width, initializer_range=self.initializer_range)
        return config
