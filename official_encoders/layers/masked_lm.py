"""The masked-LM head: transform, activation, layer norm, then logits against the tied word embeddings."""

import keras
import tensorflow as tf

from official_encoders.layers.dense import Dense
from official_encoders.layers.layer_norm import float32_layer_norm


@keras.saving.register_keras_serializable(package="official_encoders")
class MaskedLMHead(keras.layers.Layer):
    """Variables: transform (kernel [hidden_size, embedding_size]), layer_norm, output_bias [vocab_size].

    The output matrix is NOT a variable of this layer: `call` receives the
    encoder's word-embedding table, so the weights stay tied.
    """

    def __init__(self, hidden_size, embedding_size, vocab_size, activation="gelu", layer_norm_eps=1e-12,
                 initializer_range=0.02, **kwargs):
        kwargs.setdefault("autocast", False)  # the layer casts its inputs itself
        super().__init__(**kwargs)
        self.hidden_size = int(hidden_size)
        self.embedding_size = int(embedding_size)
        self.vocab_size = int(vocab_size)
        self.activation = activation
        self.layer_norm_eps = float(layer_norm_eps)
        self.initializer_range = float(initializer_range)
        self.transform = Dense(hidden_size, embedding_size, activation=activation,
                               initializer_range=initializer_range, dtype=self.dtype_policy, name="transform")
        self.layer_norm = float32_layer_norm(layer_norm_eps, "layer_norm")

    def build(self, input_shape=None):
        self.transform.build(None)
        self.layer_norm.build((None, self.embedding_size))
        self.output_bias = self.add_weight(name="output_bias", shape=(self.vocab_size,), initializer="zeros")

    def call(self, sequence_output, masked_lm_positions, embedding_table):
        """sequence_output [B, S, H], masked_lm_positions int [B, P], embedding_table [V, E] -> float32 [B, P, V]."""
        gathered = tf.gather(sequence_output, masked_lm_positions, batch_dims=1)  # [B, P, H]
        batch, predictions = tf.shape(gathered)[0], tf.shape(gathered)[1]
        hidden = self.layer_norm(self.transform(tf.reshape(gathered, [-1, self.hidden_size])))
        hidden = tf.cast(hidden, self.compute_dtype)
        logits = tf.matmul(hidden, tf.cast(embedding_table, self.compute_dtype), transpose_b=True)
        logits = tf.nn.bias_add(tf.cast(logits, tf.float32), tf.cast(self.output_bias, tf.float32))
        return tf.reshape(logits, [batch, predictions, self.vocab_size])

    def get_config(self):
        config = super().get_config()
        config.update(hidden_size=self.hidden_size, embedding_size=self.embedding_size,
                      vocab_size=self.vocab_size, activation=self.activation,
                      layer_norm_eps=self.layer_norm_eps, initializer_range=self.initializer_range)
        return config
