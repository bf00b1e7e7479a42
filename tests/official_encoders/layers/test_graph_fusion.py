"""The encoder's ops are written in the shapes TensorFlow's graph optimizer fuses on oneDNN.

The graph checked is the one the runtime executes for a tf.function, after optimization, as
RunMetadata reports it. TensorFlow turns its oneDNN rewrites on by default only on CPUs with
AVX-512 VNNI/BF16 or AMX, so the graph is built in a subprocess with TF_ENABLE_ONEDNN_OPTS=1:
the checks then run, unchanged, on every x86-64 machine (an AVX2-only AMD EPYC included).
"""

import collections
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from official_encoders.layers.activations import get_activation

ROOT = pathlib.Path(__file__).resolve().parents[3]

# Runs in the subprocess: builds a tiny encoder, runs it once under RunMetadata and prints the
# executed nodes as JSON [{"op": ..., "fused_ops": [...]}].
_EXECUTED_GRAPH_SCRIPT = r"""
import json
import tensorflow as tf
from tensorflow.python.eager import context
from tensorflow.python.util import _pywrap_util_port

from official_encoders import build_encoder
from tests.common.tiny_configs import tiny_config

if not _pywrap_util_port.IsMklEnabled():
    raise SystemExit("TensorFlow is not the oneDNN build, even with TF_ENABLE_ONEDNN_OPTS=1: "
                     "these checks need the default TensorFlow wheel for x86-64 Linux")
model = build_encoder(tiny_config("bert", vocab_size=50, hidden_size=32, num_heads=4, intermediate_size=64,
                                   hidden_act="gelu"))
forward = tf.function(lambda inputs: model(inputs, training=False))
inputs = {"input_word_ids": tf.constant([[2, 7, 9, 3, 0], [2, 5, 3, 0, 0]]),
          "input_mask": tf.constant([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]]),
          "input_type_ids": tf.zeros([2, 5], tf.int32)}
context.enable_run_metadata()
forward(inputs)
metadata = context.export_run_metadata()
context.disable_run_metadata()
nodes = [{"op": node.op,
          "fused_ops": [op.decode() for op in node.attr["fused_ops"].list.s] if "fused_ops" in node.attr else []}
         for graph in metadata.function_graphs for part in graph.partition_graphs for node in part.node]
print("NODES " + json.dumps(nodes))
"""


@pytest.fixture(scope="module")
def executed_nodes():
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="1", TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run([sys.executable, "-c", _EXECUTED_GRAPH_SCRIPT], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(line for line in out.stdout.splitlines() if line.startswith("NODES "))
    return json.loads(line[len("NODES "):])


def test_every_dense_matmul_runs_fused_with_its_bias(executed_nodes):
    kinds = collections.Counter(node["op"] for node in executed_nodes)
    matmuls = [n for n in executed_nodes if "MatMul" in n["op"] and "BatchMatMul" not in n["op"]]
    # 2 layers x (query, key, value, output, intermediate, output) + pooler.
    assert len(matmuls) == 13, kinds
    assert all(n["fused_ops"][:1] == ["BiasAdd"] for n in matmuls), [n["fused_ops"] for n in matmuls]
    assert "BiasAdd" not in kinds


def test_exact_gelu_runs_inside_the_intermediate_matmul(executed_nodes):
    assert sum(n["fused_ops"] == ["BiasAdd", "GeluExact"] for n in executed_nodes) == 2
    assert not [n["op"] for n in executed_nodes if n["op"] in ("Erf", "Erfc")]


def test_residual_adds_run_inside_the_output_matmuls(executed_nodes):
    # Attention and feed-forward output, per layer.
    assert sum(n["fused_ops"] == ["BiasAdd", "Add"] for n in executed_nodes) == 4


def test_attention_scale_and_mask_run_inside_the_score_matmul(executed_nodes):
    scores = [n for n in executed_nodes if "FusedBatchMatMul" in n["op"]]
    assert len(scores) == 2 and all(n["fused_ops"] == ["Mul", "Add"] for n in scores)


def test_fusion_friendly_gelu_equals_tensorflows_exact_gelu_in_a_graph():
    x = tf.linspace(-8.0, 8.0, 4001)
    kernel = tf.eye(1)
    graph = tf.function(lambda x: get_activation("gelu")(tf.nn.bias_add(tf.matmul(x, kernel), [0.0])))
    got = graph(x[:, None])[:, 0]
    np.testing.assert_allclose(got, tf.nn.gelu(x, approximate=False), atol=1e-6, rtol=1e-6)
