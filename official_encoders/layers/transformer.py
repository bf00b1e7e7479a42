"""One post-LN Transformer block: attention, add & norm, feed-forward, add & norm."""

import keras
import tensorflow as tf

from official_encoders.layers.attention import SelfAttention
from official_encoders.layers.feedforward import Feedforward
from official_encoders.layers.layer_norm import float32_layer_norm


def _dropout(x, rate, training):
    return tf.nn.dropout(x, rate=rate) if training and rate > 0 else x


@keras.saving.register_keras_serializable(package="official_encoders")
class TransformerBlock(keras.layers.Layer):
    """Sublayers: self_attention, self_attention_layer_norm, feedforward, output_layer_norm.

    Returns float32 [B, S, H] (the layer norms are float32); the matmuls run in
    the layer's compute dtype.
    """

    def __init__(self, hidden_size, num_heads, intermediate_size, activation="gelu",
                 attention_kind="standard", feedforward_kind="dense", hidden_dropout=0.0,
                 attention_dropout=0.0, layer_norm_eps=1e-12, initializer_range=0.02, **kwargs):
        kwargs.setdefault("autocast", False)  # we cast explicitly; keeps the float32 mask float32
        super().__init__(**kwargs)
        self.hidden_size = int(hidden_size)
        self.num_heads = int(num_heads)
        self.intermediate_size = int(intermediate_size)
        self.activation = activation
        self.attention_kind = attention_kind
        self.feedforward_kind = feedforward_kind
        self.hidden_dropout = float(hidden_dropout)
        self.attention_dropout = float(attention_dropout)
        self.layer_norm_eps = float(layer_norm_eps)
        self.initializer_range = float(initializer_range)
        self.self_attention = SelfAttention(
            hidden_size, num_heads, kind=attention_kind, dropout=attention_dropout,
            initializer_range=initializer_range, dtype=self.dtype_policy, name="self_attention")
        self.self_attention_layer_norm = float32_layer_norm(layer_norm_eps, "self_attention_layer_norm")
        self.feedforward = Feedforward(
            hidden_size, intermediate_size, activation=activation, kind=feedforward_kind,
            initializer_range=initializer_range, dtype=self.dtype_policy, name="feedforward")
        self.output_layer_norm = float32_layer_norm(layer_norm_eps, "output_layer_norm")

    def build(self, input_shape=None):
        shape = (None, None, self.hidden_size)
        self.self_attention.build(None)
        self.self_attention_layer_norm.build(shape)
        self.feedforward.build(None)
        self.output_layer_norm.build(shape)

    def call(self, hidden, attention_mask, training=None):
        """hidden [B, S, H]; attention_mask additive float32 [B, 1, 1, S].

        Inside, the residual stream is flat [B*S, H]: each residual add then follows its
        matmul's bias directly, which oneDNN builds of TensorFlow fuse into the matmul.
        """
        residual = tf.reshape(tf.cast(hidden, tf.float32), [-1, self.hidden_size])
        attended = self.self_attention(residual, attention_mask, training=training)
        attended = _dropout(attended, self.hidden_dropout, training)
        residual = self.self_attention_layer_norm(tf.cast(attended, tf.float32) + residual)
        transformed = self.feedforward(tf.cast(residual, self.compute_dtype))
        transformed = _dropout(transformed, self.hidden_dropout, training)
        output = self.output_layer_norm(tf.cast(transformed, tf.float32) + residual)
        return tf.reshape(output, tf.shape(hidden))

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_size=self.hidden_size, num_heads=self.num_heads, intermediate_size=self.intermediate_size,
            activation=self.activation, attention_kind=self.attention_kind,
            feedforward_kind=self.feedforward_kind, hidden_dropout=self.hidden_dropout,
            attention_dropout=self.attention_dropout, layer_norm_eps=self.layer_norm_eps,
            initializer_range=self.initializer_range)
        return config
