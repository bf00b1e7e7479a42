"""Layer-level behaviour the encoder checks cannot see: talking heads, gated GELU, activations."""

import numpy as np
import pytest
import tensorflow as tf

from official_encoders.layers.activations import get_activation
from official_encoders.layers.attention import SelfAttention, additive_attention_mask
from official_encoders.layers.feedforward import Feedforward


def _attention_pair():
    standard = SelfAttention(16, 4, name="a")
    talking = SelfAttention(16, 4, kind="talking_heads", name="b")
    standard.build(None)
    talking.build(None)
    for name in ("query", "key", "value", "attention_output"):
        getattr(talking, name).set_weights(getattr(standard, name).get_weights())
    return standard, talking


def test_talking_heads_with_identity_mixing_equals_standard_attention():
    standard, talking = _attention_pair()
    talking.pre_softmax_weight.assign(np.eye(4, dtype="float32"))
    talking.post_softmax_weight.assign(np.eye(4, dtype="float32"))
    hidden = tf.random.stateless_normal([2, 5, 16], seed=[1, 2])
    mask = additive_attention_mask(tf.constant([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]))
    np.testing.assert_allclose(talking(hidden, mask), standard(hidden, mask), atol=1e-6)


def test_talking_heads_mixes_heads_before_and_after_softmax():
    standard, talking = _attention_pair()
    hidden = tf.random.stateless_normal([2, 5, 16], seed=[3, 4])
    mask = additive_attention_mask(tf.ones([2, 5], tf.int32))
    # Reference computed head by head in numpy.
    x = hidden.numpy().reshape(10, 16)
    q, k, v = ((x @ getattr(standard, n).kernel.numpy() + getattr(standard, n).bias.numpy()).reshape(2, 5, 4, 4)
               for n in ("query", "key", "value"))
    scores = np.einsum("bsnd,btnd->bnst", q, k) / 2.0
    scores = np.einsum("bnst,nm->bmst", scores, talking.pre_softmax_weight.numpy())
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    probs = np.einsum("bnst,nm->bmst", probs, talking.post_softmax_weight.numpy())
    context = np.einsum("bnst,btnd->bsnd", probs, v).reshape(10, 16)
    out = context @ standard.attention_output.kernel.numpy() + standard.attention_output.bias.numpy()
    np.testing.assert_allclose(talking(hidden, mask).numpy().reshape(10, 16), out, atol=1e-5)


def test_gated_gelu_multiplies_the_activation_by_the_gate():
    layer = Feedforward(8, 12, activation="gelu", kind="gated_gelu")
    layer.build(None)
    x = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    inner = x @ layer.intermediate.kernel.numpy() + layer.intermediate.bias.numpy()
    gelu = 0.5 * inner * (1 + tf.math.erf(inner / np.sqrt(2)).numpy())
    gate = x @ layer.gate.kernel.numpy() + layer.gate.bias.numpy()
    expected = (gelu * gate) @ layer.output_dense.kernel.numpy() + layer.output_dense.bias.numpy()
    np.testing.assert_allclose(layer(x), expected, atol=1e-5)


def test_gelu_variants_differ_and_unknown_activation_is_named():
    x = tf.constant([-1.0, 0.5, 2.0])
    assert not np.allclose(get_activation("gelu")(x), get_activation("gelu_approximate")(x), atol=1e-5)
    with pytest.raises(ValueError, match="activation 'swish'"):
        get_activation("swish")


@pytest.mark.parametrize("dtype,atol", [("float32", 1e-6), ("float16", 2e-3), ("bfloat16", 2e-2)])
def test_exact_gelu_equals_tensorflows(dtype, atol):
    x = tf.cast(tf.linspace(-8.0, 8.0, 2001), dtype)
    ours = tf.cast(get_activation("gelu")(x), tf.float32)
    reference = tf.nn.gelu(tf.cast(x, tf.float32), approximate=False)
    assert get_activation("gelu")(x).dtype == x.dtype
    np.testing.assert_allclose(ours, reference, atol=atol, rtol=atol)
