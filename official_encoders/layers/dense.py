"""A dense layer that runs as one 2-D MatMul whatever the input rank (fast on CPU and XLA)."""

import keras
import tensorflow as tf

from official_encoders.layers.activations import get_activation


@keras.saving.register_keras_serializable(package="official_encoders")
class Dense(keras.layers.Layer):
    """y = activation(x @ kernel + bias) with kernel [input_size, units].

    The input size is a constructor argument so the layer can build its
    variables before it sees data (importers assign weights right away).
    """

    def __init__(self, input_size, units, activation=None, use_bias=True, initializer_range=0.02, **kwargs):
        kwargs.setdefault("autocast", False)  # the layer casts its inputs itself
        super().__init__(**kwargs)
        self.input_size = int(input_size)
        self.units = int(units)
        self.activation = activation
        self.use_bias = bool(use_bias)
        self.initializer_range = float(initializer_range)
        self._activation_fn = get_activation(activation)

    def build(self, input_shape=None):
        self.kernel = self.add_weight(
            name="kernel", shape=(self.input_size, self.units),
            initializer=keras.initializers.TruncatedNormal(stddev=self.initializer_range))
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros") if self.use_bias else None

    def call(self, inputs):
        x = tf.cast(inputs, self.compute_dtype)
        rank = x.shape.rank
        if rank != 2:
            leading = tf.shape(x)[:-1]
            x = tf.reshape(x, [-1, self.input_size])
        y = tf.matmul(x, tf.cast(self.kernel, self.compute_dtype))
        if self.use_bias:
            y = tf.nn.bias_add(y, tf.cast(self.bias, self.compute_dtype))
        y = self._activation_fn(y)
        if rank != 2:
            y = tf.reshape(y, tf.concat([leading, [self.units]], axis=0))
        return y

    def get_config(self):
        config = super().get_config()
        config.update(input_size=self.input_size, units=self.units, activation=self.activation,
                      use_bias=self.use_bias, initializer_range=self.initializer_range)
        return config
