"""Talking-heads attention + gated GELU against TF Model Garden's EncoderScaffold, same weights, same run."""

import numpy as np
import pytest
import re

tf_keras = pytest.importorskip("tf_keras")
mg_networks = pytest.importorskip("official.nlp.modeling.networks")
mg_layers = pytest.importorskip("official.nlp.modeling.layers")
mg_activations = pytest.importorskip("official.modeling.activations")

from official_encoders.checkpoints.mapping import RESHAPE, Row, assign  # noqa: E402
from official_encoders import BertEncoder  # noqa: E402
from tests.official_encoders.encoder_checks import random_inputs  # noqa: E402
from tests.common.tiny_configs import tiny_config

pytestmark = pytest.mark.slow

# Model Garden variable (layer prefix stripped) -> ours, per layer.
LAYER_TABLE = (
    *(Row(f"self_attention/{n}/{p}", f"self_attention/{n}/{p}", RESHAPE)
      for n in ("query", "key", "value", "attention_output") for p in ("kernel", "bias")),
    Row("self_attention/pre_softmax_weight", "self_attention/pre_softmax_weight"),
    Row("self_attention/post_softmax_weight", "self_attention/post_softmax_weight"),
    *(Row(f"self_attention_layer_norm/{p}", f"self_attention_layer_norm/{p}") for p in ("gamma", "beta")),
    *(Row(f"feedforward/{n}_0/{p}", f"feedforward/{n}/{p}") for n in ("intermediate", "gate", "output")
      for p in ("kernel", "bias")),
    *(Row(f"feedforward/output_layer_norm_0/{p}", f"output_layer_norm/{p}") for p in ("gamma", "beta")),
)
TOP_TABLE = (
    Row("word_embeddings/embeddings", "word_embeddings/embeddings"),
    Row("position_embedding/embeddings", "position_embedding/embeddings"),
    Row("type_embeddings/embeddings", "type_embeddings/embeddings"),
    Row("embeddings/layer_norm/gamma", "embeddings/layer_norm/gamma"),
    Row("embeddings/layer_norm/beta", "embeddings/layer_norm/beta"),
    Row("cls_transform/kernel", "pooler_transform/kernel"),
    Row("cls_transform/bias", "pooler_transform/bias"),
)


def _model_garden_scaffold(config):
    init = tf_keras.initializers.TruncatedNormal(stddev=0.3)
    hidden_cfg = dict(
        num_attention_heads=config.num_heads, intermediate_size=config.intermediate_size,
        intermediate_activation=mg_activations.gelu, dropout_rate=0.0, attention_dropout_rate=0.0,
        kernel_initializer=init, attention_cls=mg_layers.TalkingHeadsAttention,
        feedforward_cls=mg_layers.GatedFeedforward)
    embedding_cfg = dict(
        vocab_size=config.vocab_size, type_vocab_size=config.type_vocab_size, hidden_size=config.hidden_size,
        max_seq_length=config.max_position_embeddings, seq_length=None, initializer=init, dropout_rate=0.0)
    return mg_networks.EncoderScaffold(
        pooled_output_dim=config.hidden_size, pooler_layer_initializer=init, embedding_cfg=embedding_cfg,
        num_hidden_instances=config.num_layers, hidden_cls=mg_layers.TransformerScaffold, hidden_cfg=hidden_cfg,
        return_all_layer_outputs=True, dict_outputs=True)


def test_talking_heads_gated_gelu_matches_model_garden():
    config = tiny_config("bert", attention_kind="talking_heads", feedforward_kind="gated_gelu",
                         hidden_act="gelu_approximate", hidden_dropout=0.0, attention_dropout=0.0)
    theirs = _model_garden_scaffold(config)
    # Model Garden layer names are uniquified per session; number them by order of appearance.
    values, layer_prefixes = {}, []
    for weight in theirs.weights:
        name = weight.name[:-2] if weight.name.endswith(":0") else weight.name
        match = re.match(r"(transformer_scaffold(?:_\d+)?)/(.*)", name)
        if match:
            if match.group(1) not in layer_prefixes:
                layer_prefixes.append(match.group(1))
            name = f"layer_{layer_prefixes.index(match.group(1))}/{match.group(2)}"
        values[name] = weight.numpy()
    rows = list(TOP_TABLE) + [Row(f"layer_{i}/{r.source}", f"transformer/layer_{i}/{r.target}", r.transform)
                              for i in range(config.num_layers) for r in LAYER_TABLE]
    ours = BertEncoder(config)
    report = assign(ours, rows, values, values.__getitem__, what="Model Garden EncoderScaffold")
    assert report.missing == [] and report.unused == []

    inputs = random_inputs(3, 7, config.vocab_size, seed=2, valid_lengths=[7, 4, 2])
    expected = theirs([inputs["input_word_ids"], inputs["input_mask"], inputs["input_type_ids"]])
    actual = ours(inputs)
    mask = inputs["input_mask"].astype(bool)
    assert len(expected["encoder_outputs"]) == config.num_layers
    for a, e in zip(actual["encoder_outputs"], expected["encoder_outputs"]):
        assert np.max(np.abs(a.numpy()[mask] - e.numpy()[mask])) <= 1e-4
    assert np.max(np.abs(actual["sequence_output"].numpy()[mask] - expected["sequence_output"].numpy()[mask])) <= 1e-4
    assert np.max(np.abs(actual["pooled_output"].numpy() - expected["pooled_output"].numpy())) <= 1e-4
