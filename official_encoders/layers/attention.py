"""Multi-head self-attention, standard or talking-heads, masked by an additive mask.

All heads run in batched matmuls; scores and softmax are float32 even under
mixed precision.
"""

import math

import keras
import tensorflow as tf

from official_encoders.layers.dense import Dense

ATTENTION_KINDS = ("standard", "talking_heads")


def additive_attention_mask(input_mask):
    """[B, S] 0/1 mask -> float32 [B, 1, 1, S]: 0 where attended, -1e9 where padded."""
    mask = tf.cast(input_mask, tf.float32)[:, tf.newaxis, tf.newaxis, :]
    return (1.0 - mask) * -1e9


@keras.saving.register_keras_serializable(package="official_encoders")
class SelfAttention(keras.layers.Layer):
    """Variables: query, key, value, attention_output (kernels [H, H]); with
    kind="talking_heads" also pre_softmax_weight and post_softmax_weight [N, N]
    mixing heads before and after the softmax (Shazeer et al. 2020)."""

    def __init__(self, hidden_size, num_heads, kind="standard", dropout=0.0, initializer_range=0.02, **kwargs):
        kwargs.setdefault("autocast", False)  # we cast explicitly; keeps the float32 mask float32
        super().__init__(**kwargs)
        if kind not in ATTENTION_KINDS:
            raise ValueError(f"SelfAttention kind={kind!r} is not supported; allowed: {list(ATTENTION_KINDS)}")
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size={hidden_size} must be divisible by num_heads={num_heads}")
        self.hidden_size = int(hidden_size)
        self.num_heads = int(num_heads)
        self.kind = kind
        self.dropout = float(dropout)
        self.initializer_range = float(initializer_range)
        self.head_size = self.hidden_size // self.num_heads
        dense = dict(input_size=hidden_size, units=hidden_size, initializer_range=initializer_range,
                     dtype=self.dtype_policy)
        self.query = Dense(name="query", **dense)
        self.key = Dense(name="key", **dense)
        self.value = Dense(name="value", **dense)
        self.attention_output = Dense(name="attention_output", **dense)

    def build(self, input_shape=None):
        for layer in (self.query, self.key, self.value, self.attention_output):
            layer.build(None)
        if self.kind == "talking_heads":
            init = keras.initializers.TruncatedNormal(stddev=self.initializer_range)
            shape = (self.num_heads, self.num_heads)
            self.pre_softmax_weight = self.add_weight(name="pre_softmax_weight", shape=shape, initializer=init)
            self.post_softmax_weight = self.add_weight(name="post_softmax_weight", shape=shape, initializer=init)

    def _split_heads(self, x, batch, length):
        """[B*S, H] -> [B, N, S, D]."""
        x = tf.reshape(x, [batch, length, self.num_heads, self.head_size])
        return tf.transpose(x, [0, 2, 1, 3])

    def call(self, hidden, attention_mask, training=None):
        """hidden [B, S, H], or flat [B*S, H] (the blocks keep their residual stream flat so the
        graph optimizer can fuse the residual add into the output matmul); attention_mask
        additive float32 [B, 1, 1, S]. Returns the same shape as `hidden`."""
        batch, length = tf.shape(attention_mask)[0], tf.shape(attention_mask)[3]
        flat = tf.reshape(tf.cast(hidden, self.compute_dtype), [-1, self.hidden_size])
        query = self._split_heads(self.query(flat), batch, length)
        key = self._split_heads(self.key(flat), batch, length)
        value = self._split_heads(self.value(flat), batch, length)

        # Scaled after the matmul: matmul, scale and mask add then fuse into one op (oneDNN).
        scores = tf.cast(tf.matmul(query, key, transpose_b=True), tf.float32)  # [B, N, S, S]
        scores = scores * (1.0 / math.sqrt(self.head_size))
        if self.kind == "talking_heads":
            scores = tf.einsum("bnst,nm->bmst", scores, tf.cast(self.pre_softmax_weight, tf.float32))
        probs = tf.nn.softmax(scores + attention_mask, axis=-1)
        if self.kind == "talking_heads":
            probs = tf.einsum("bnst,nm->bmst", probs, tf.cast(self.post_softmax_weight, tf.float32))
        probs = tf.cast(probs, self.compute_dtype)
        if training and self.dropout > 0:
            probs = tf.nn.dropout(probs, rate=self.dropout)

        context = tf.transpose(tf.matmul(probs, value), [0, 2, 1, 3])  # [B, S, N, D]
        output = self.attention_output(tf.reshape(context, [-1, self.hidden_size]))
        if hidden.shape.rank == 2:
            return output
        return tf.reshape(output, [batch, length, self.hidden_size])

    def get_config(self):
        config = super().get_config()
        config.update(hidden_size=self.hidden_size, num_heads=self.num_heads, kind=self.kind,
                      dropout=self.dropout, initializer_range=self.initializer_range)
        return config
