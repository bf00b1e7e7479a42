"""Activation functions by the names EncoderConfig uses.

Exact GELU is written op for op in the shape TensorFlow's graph optimizer
recognises after a MatMul + BiasAdd (tf.nn.gelu's tanh form already is), so on
oneDNN builds the activation runs inside the fused matmul instead of as five
passes over the intermediate tensor. Without that rewrite (eager, XLA, other
builds) they are ordinary ops with the same result.
"""

import tensorflow as tf

_SQRT_HALF = 0.7071067811865476


def _float32_for_bfloat16(fn):
    """bfloat16 inputs are computed in float32 (erf and tanh lose too much in bfloat16), as
    TF Model Garden does; other dtypes run as they are."""
    def activation(x):
        if x.dtype == tf.bfloat16:
            return tf.cast(fn(tf.cast(x, tf.float32)), tf.bfloat16)
        return fn(x)
    activation.__name__ = fn.__name__
    return activation


@_float32_for_bfloat16
def gelu_exact(x):
    # x * ((erf(x / sqrt(2)) + 1) * 0.5): this op order is the remapper's GELU-exact pattern.
    return ((tf.math.erf(x * tf.cast(_SQRT_HALF, x.dtype)) + tf.cast(1.0, x.dtype)) * tf.cast(0.5, x.dtype)) * x


@_float32_for_bfloat16
def gelu_tanh(x):
    return tf.nn.gelu(x, approximate=True)


def _identity(x):
    return x


_ACTIVATIONS = {
    "gelu": gelu_exact,
    "gelu_approximate": gelu_tanh,
    "relu": tf.nn.relu,
    "tanh": tf.math.tanh,
    "linear": _identity,
    None: _identity,
}


def get_activation(name):
    """The function for `name` (None or "linear" is the identity); ValueError names the choices."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not supported; allowed: {[k for k in _ACTIVATIONS if k]}")
    return _ACTIVATIONS[name]
