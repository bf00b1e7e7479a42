"""The encoder's ops are written in the shapes TensorFlow's graph optimizer fuses on oneDNN
builds (the default TensorFlow on x86-64 Linux). The graph checked is the one the runtime
executes for a tf.function, after optimization, as RunMetadata reports it."""

import collections

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.eager import context
from tensorflow.python.util import _pywrap_util_port

from official_encoders import build_encoder
from official_encoders.configs import EncoderConfig
from official_encoders.layers.activations import get_activation


def _executed_graph(fn, *args):
    """The post-optimization partition graphs of the first call of tf.function `fn`."""
    context.enable_run_metadata()
    try:
        fn(*args)
        metadata = context.export_run_metadata()
    finally:
        context.disable_run_metadata()
    return [node for graph in metadata.function_graphs for part in graph.partition_graphs for node in part.node]


def _fused_ops(node):
    return [op.decode() for op in node.attr["fused_ops"].list.s] if "fused_ops" in node.attr else []


@pytest.fixture(scope="module")
def executed_nodes():
    assert _pywrap_util_port.IsMklEnabled(), (
        "these checks need TensorFlow's oneDNN build (the default on x86-64 Linux); "
        "TF_ENABLE_ONEDNN_OPTS=0 turns it off")
    config = EncoderConfig(family="bert", vocab_size=50, hidden_size=32, num_layers=2, num_heads=4,
                           intermediate_size=64, hidden_act="gelu")
    model = build_encoder(config)
    forward = tf.function(lambda inputs: model(inputs, training=False))
    inputs = {"input_word_ids": tf.constant([[2, 7, 9, 3, 0], [2, 5, 3, 0, 0]]),
              "input_mask": tf.constant([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]]),
              "input_type_ids": tf.zeros([2, 5], tf.int32)}
    return _executed_graph(forward, inputs)


def test_every_dense_matmul_runs_fused_with_its_bias(executed_nodes):
    kinds = collections.Counter(node.op for node in executed_nodes)
    matmuls = [node for node in executed_nodes if "MatMul" in node.op and "BatchMatMul" not in node.op]
    # 2 layers x (query, key, value, output, intermediate, output) + pooler.
    assert len(matmuls) == 13, kinds
    assert all(_fused_ops(node)[:1] == ["BiasAdd"] for node in matmuls), [_fused_ops(n) for n in matmuls]
    assert "BiasAdd" not in kinds


def test_exact_gelu_runs_inside_the_intermediate_matmul(executed_nodes):
    fused = [_fused_ops(node) for node in executed_nodes]
    assert sum(ops == ["BiasAdd", "GeluExact"] for ops in fused) == 2
    assert not [node.op for node in executed_nodes if node.op in ("Erf", "Erfc")]


def test_residual_adds_run_inside_the_output_matmuls(executed_nodes):
    fused = [_fused_ops(node) for node in executed_nodes]
    assert sum(ops == ["BiasAdd", "Add"] for ops in fused) == 4  # attention and feed-forward output, per layer


def test_attention_scale_and_mask_run_inside_the_score_matmul(executed_nodes):
    scores = [node for node in executed_nodes if "FusedBatchMatMul" in node.op]
    assert len(scores) == 2 and all(_fused_ops(node) == ["Mul", "Add"] for node in scores)


def test_fusion_friendly_gelu_equals_tensorflows_exact_gelu_in_a_graph():
    x = tf.linspace(-8.0, 8.0, 4001)
    kernel = tf.eye(1)
    graph = tf.function(lambda x: get_activation("gelu")(tf.nn.bias_add(tf.matmul(x, kernel), [0.0])))
    got = graph(x[:, None])[:, 0]
    np.testing.assert_allclose(got, tf.nn.gelu(x, approximate=False), atol=1e-6, rtol=1e-6)
