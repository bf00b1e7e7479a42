"""BertEncoder's own layout, also with talking-heads attention and gated GELU (the shared checks are in
test_encoder_contract)."""

import numpy as np
import pytest
import tensorflow as tf

from official_encoders import BertEncoder, build_encoder
from tests.official_encoders.encoder_checks import random_inputs
from tests.common.tiny_configs import tiny_config


def test_bert_variable_paths():
    encoder = BertEncoder(tiny_config("bert"))
    assert [v.path for v in encoder.weights][:5] == [
        "word_embeddings/embeddings", "position_embedding/embeddings", "type_embeddings/embeddings",
        "embeddings/layer_norm/gamma", "embeddings/layer_norm/beta"]
    assert encoder.embedding_projection is None


def test_talking_heads_gated_gelu_bert():
    config = tiny_config("bert", attention_kind="talking_heads", feedforward_kind="gated_gelu",
                         hidden_act="gelu_approximate", has_pooler=False)
    encoder = BertEncoder(config)
    paths = {v.path for v in encoder.weights}
    assert "transformer/layer_1/self_attention/pre_softmax_weight" in paths
    assert "transformer/layer_1/self_attention/post_softmax_weight" in paths
    assert "transformer/layer_1/feedforward/gate/kernel" in paths
    assert not any(p.startswith("pooler_transform") for p in paths)


def test_factorized_bert_has_embedding_projection():
    encoder = build_encoder(tiny_config("bert", embedding_size=8))
    assert encoder.get_layer("embedding_projection").kernel.shape == (8, 16)


def test_wrong_family_names_the_class_to_use():
    with pytest.raises(ValueError, match="config.family='bert'.*build_encoder"):
        BertEncoder(tiny_config("albert"))
    assert type(build_encoder(tiny_config("albert"))).__name__ == "AlbertEncoder"


def test_missing_input_key_is_named():
    encoder = build_encoder(tiny_config("bert"))
    with pytest.raises(KeyError, match="input_type_ids"):
        encoder({"input_word_ids": np.array([[1, 2]], "int32"), "input_mask": np.array([[1, 1]], "int32")})


@pytest.mark.parametrize("key, value, message", [
    ("input_word_ids", 100, "input_word_ids must be in \\[0, vocab_size=100\\)"),
    ("input_word_ids", -1, "input_word_ids must be in \\[0, vocab_size=100\\)"),
    ("input_type_ids", 2, "input_type_ids must be in \\[0, type_vocab_size=2\\)"),
    ("input_mask", 2, "input_mask values must be 0 or 1"),
])
def test_bad_input_values_name_the_input_and_limit_eager_and_graph(key, value, message):
    encoder = build_encoder(tiny_config("bert"))
    inputs = random_inputs(1, 4, valid_lengths=[4])
    inputs[key][0, 2] = value
    spec = {k: tf.TensorSpec([None, None], tf.int32) for k in inputs}
    graph = tf.function(lambda x: encoder(x)["sequence_output"], input_signature=[spec])
    for run in (encoder, graph):
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            run(inputs)
    # The documented switch turns the value checks off (for inputs validated upstream).
    unchecked = build_encoder(tiny_config("bert"), check_inputs=False)
    assert unchecked.get_config()["check_inputs"] is False
    if key == "input_mask":
        unchecked(inputs)


def test_bad_input_structure_is_named():
    encoder = build_encoder(tiny_config("bert"))
    inputs = random_inputs(2, 4)
    with pytest.raises(TypeError, match="input_mask must be an integer tensor.*float32"):
        encoder({**inputs, "input_mask": inputs["input_mask"].astype("float32")})
    with pytest.raises(ValueError, match="same shape"):
        encoder({**inputs, "input_type_ids": inputs["input_type_ids"][:, :3]})
    with pytest.raises(ValueError, match=r"input_word_ids must have shape \[batch, seq_length\]"):
        encoder({**inputs, "input_word_ids": inputs["input_word_ids"][0]})
    spec = {k: tf.TensorSpec([None, None], tf.int32) for k in inputs}
    graph = tf.function(lambda x: encoder(x)["sequence_output"], input_signature=[spec])
    with pytest.raises(tf.errors.InvalidArgumentError, match="same shape"):
        graph({**inputs, "input_type_ids": inputs["input_type_ids"][:, :3]})


def test_empty_batch_gives_empty_outputs():
    encoder = build_encoder(tiny_config("bert"))
    outputs = encoder(random_inputs(0, 4))
    assert outputs["sequence_output"].shape == (0, 4, 16) and outputs["pooled_output"].shape == (0, 16)
