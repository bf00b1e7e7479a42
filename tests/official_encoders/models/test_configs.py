"""EncoderConfig: the three file formats, our own dict form, and validation errors."""

import json

import pytest

from official_encoders.models.configs import EncoderConfig

GOOGLE_BERT_BASE = {
    "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
    "max_position_embeddings": 512, "num_attention_heads": 12, "num_hidden_layers": 12,
    "type_vocab_size": 2, "vocab_size": 30522,
}
GOOGLE_ALBERT_BASE = {
    "attention_probs_dropout_prob": 0, "hidden_act": "gelu", "hidden_dropout_prob": 0,
    "embedding_size": 128, "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
    "max_position_embeddings": 512, "num_attention_heads": 12, "num_hidden_layers": 12,
    "num_hidden_groups": 1, "net_structure_type": 0, "gap_size": 0, "num_memory_blocks": 0,
    "inner_group_num": 1, "down_scale_factor": 1, "type_vocab_size": 2, "vocab_size": 30000,
}


def test_google_bert_config_reads_tanh_gelu_and_round_trips(tmp_path):
    path = tmp_path / "bert_config.json"
    path.write_text(json.dumps(GOOGLE_BERT_BASE))
    config = EncoderConfig.from_bert_config_json(str(path))
    assert (config.family, config.num_layers, config.num_heads, config.hidden_act) == (
        "bert", 12, 12, "gelu_approximate")
    written = config.to_bert_config_json()
    assert {k: written[k] for k in GOOGLE_BERT_BASE} == GOOGLE_BERT_BASE
    assert EncoderConfig.from_bert_config_json(written) == config


def test_google_albert_config_is_detected_and_round_trips():
    config = EncoderConfig.from_bert_config_json(GOOGLE_ALBERT_BASE)
    assert config.family == "albert" and config.embedding_size == 128
    assert config.has_embedding_projection
    assert EncoderConfig.from_bert_config_json(config.to_bert_config_json()) == config


@pytest.mark.parametrize("config", [
    EncoderConfig(family="bert", hidden_act="gelu"),
    EncoderConfig(family="electra", embedding_size=128, hidden_size=256, num_heads=4, intermediate_size=1024),
    EncoderConfig(family="albert", embedding_size=128, hidden_act="gelu_approximate"),
])
def test_hf_config_round_trip(config):
    d = config.to_hf_config()
    assert d["model_type"] == config.family
    assert EncoderConfig.from_hf_config(json.loads(json.dumps(d))) == config


def test_hf_config_activation_names():
    base = EncoderConfig().to_hf_config()
    assert EncoderConfig.from_hf_config({**base, "hidden_act": "gelu_new"}).hidden_act == "gelu_approximate"
    assert EncoderConfig.from_hf_config({**base, "hidden_act": "gelu"}).hidden_act == "gelu"


def test_bert_config_json_round_trips_every_non_default_field():
    config = EncoderConfig(hidden_act="gelu", attention_kind="talking_heads", feedforward_kind="gated_gelu",
                           has_pooler=False, layer_norm_eps=1e-6, family="electra", embedding_size=64)
    assert EncoderConfig.from_bert_config_json(config.to_bert_config_json()) == config


def test_dict_round_trip_is_exact_and_json_safe():
    config = EncoderConfig(family="electra", vocab_size=100, hidden_size=16, num_layers=2, num_heads=2,
                           intermediate_size=32, embedding_size=8, has_pooler=False)
    assert EncoderConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert EncoderConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize("changes, message", [
    ({"family": "roberta"}, "family='roberta'"),
    ({"hidden_act": "swish"}, "hidden_act='swish'"),
    ({"attention_kind": "linear"}, "attention_kind='linear'"),
    ({"feedforward_kind": "moe"}, "feedforward_kind='moe'"),
    ({"hidden_size": 10, "num_heads": 3}, "divisible by num_heads=3"),
    ({"num_layers": 0}, "num_layers=0"),
    ({"hidden_dropout": 1.5}, "hidden_dropout=1.5"),
    ({"num_hidden_groups": 2}, "num_hidden_groups=2"),
    ({"embedding_size": -1}, "embedding_size=-1"),
])
def test_validate_names_the_field(changes, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")) as info:
        EncoderConfig().replace(**changes).validate()
    assert "EncoderConfig." in str(info.value)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unknown keys \\['num_hidden_layer'\\]"):
        EncoderConfig.from_dict({**EncoderConfig().to_dict(), "num_hidden_layer": 3})


def test_hf_config_rejects_other_model_types():
    with pytest.raises(ValueError, match="model_type='roberta'"):
        EncoderConfig.from_hf_config({**EncoderConfig().to_hf_config(), "model_type": "roberta"})
