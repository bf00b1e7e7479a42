"""Issue 6, config and preset errors: each names the field or name and says what is allowed."""

import json

import pytest

from official_encoders import build_encoder, from_pretrained
from official_encoders.models.configs import EncoderConfig
from official_encoders.models.presets import get_preset, preset_names
from tests.common.tiny_configs import TINY_SIZES

SIZES = ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size",
         "max_position_embeddings", "type_vocab_size", "embedding_size")
TINY = dict(TINY_SIZES)


def test_unknown_keys_are_listed_with_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown keys \['hiden_size', 'num_hidden_layers'\]; known: \[.*'hidden_size'"):
        EncoderConfig.from_dict(dict(TINY, hiden_size=16, num_hidden_layers=2))
    with pytest.raises(ValueError, match=r"unknown keys \['dropout'\]"):
        EncoderConfig.from_json(json.dumps(dict(TINY, dropout=0.1)))
    with pytest.raises(ValueError, match=r"unknown keys \['bogus'\]"):
        build_encoder(dict(TINY, bogus=1))


@pytest.mark.parametrize("field", SIZES)
@pytest.mark.parametrize("value", [0, -1, -768, 2.5, True, "16"])
def test_sizes_must_be_positive_ints(field, value):
    with pytest.raises(ValueError, match=rf"EncoderConfig\.{field}={value!r} must be a positive int"):
        EncoderConfig.from_dict(dict(TINY, **{field: value}))
    with pytest.raises(ValueError, match=rf"EncoderConfig\.{field}="):
        build_encoder(EncoderConfig(**dict(TINY, **{field: value})))


@pytest.mark.parametrize("reader, document", [
    (EncoderConfig.from_bert_config_json,
     {"vocab_size": 100, "hidden_size": 16, "num_hidden_layers": 0, "num_attention_heads": 2,
      "intermediate_size": 32, "hidden_act": "gelu"}),
    (EncoderConfig.from_hf_config,
     {"model_type": "bert", "vocab_size": 100, "hidden_size": 16, "num_hidden_layers": 0,
      "num_attention_heads": 2, "intermediate_size": 32}),
])
def test_file_configs_are_validated_too(reader, document, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"EncoderConfig\.num_layers=0 must be a positive int"):
        reader(str(path))
    del document["hidden_size"]
    with pytest.raises(ValueError, match=r"has no 'hidden_size'; present keys"):
        reader(document)


@pytest.mark.parametrize("hidden, heads", [(16, 3), (768, 5), (10, 4)])
def test_hidden_size_not_divisible_by_heads(hidden, heads):
    with pytest.raises(ValueError, match=rf"hidden_size={hidden} must be divisible by num_heads={heads}"):
        EncoderConfig.from_dict(dict(TINY, hidden_size=hidden, num_heads=heads))


@pytest.mark.parametrize("field, value, allowed", [
    ("family", "roberta", "['bert', 'albert', 'electra']"),
    ("hidden_act", "swish", "['gelu', 'gelu_approximate', 'relu']"),
    ("attention_kind", "linear", "['standard', 'talking_heads']"),
    ("feedforward_kind", "moe", "['dense', 'gated_gelu']"),
])
def test_choices_list_what_is_allowed(field, value, allowed):
    with pytest.raises(ValueError, match=rf"EncoderConfig\.{field}={value!r} is not supported; allowed: "
                                         + allowed.replace("[", r"\[").replace("]", r"\]")):
        EncoderConfig.from_dict(dict(TINY, **{field: value}))


@pytest.mark.parametrize("field, value, rule", [
    ("hidden_dropout", 1.0, r"must be a float in \[0, 1\)"),
    ("attention_dropout", -0.1, r"must be a float in \[0, 1\)"),
    ("layer_norm_eps", 0.0, "must be a positive float"),
    ("initializer_range", -1.0, "must be a positive float"),
    ("has_pooler", 1, "must be a bool"),
])
def test_other_fields_say_what_is_allowed(field, value, rule):
    with pytest.raises(ValueError, match=rf"EncoderConfig\.{field}={value!r} {rule}"):
        EncoderConfig.from_dict(dict(TINY, **{field: value}))


def test_every_default_and_preset_config_is_valid():
    """The checks refuse only bad configs: the defaults and all catalog entries pass."""
    assert EncoderConfig().validate() == EncoderConfig()
    names = preset_names()
    assert len(names) > 20
    for name in names:
        config = get_preset(name).config  # from_dict validates
        assert EncoderConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("typo, expected", [
    ("bert_en_uncased_L-12_H-768_A-11", "bert_en_uncased_L-12_H-768_A-12"),
    ("bert-base-uncasd", "bert-base-uncased"),
    ("albert_en_bse", "albert_en_base"),
])
def test_unknown_preset_lists_close_matches(typo, expected):
    with pytest.raises(KeyError, match=rf"unknown encoder preset {typo!r}\. Close matches: .*{expected}"):
        get_preset(typo)


def test_unknown_preset_with_no_close_match_points_to_the_list(tmp_path):
    with pytest.raises(KeyError, match=r"unknown encoder preset 'zzz'\. See official_encoders\.models\.presets\.preset_names\(\)"):
        get_preset("zzz")
    with pytest.raises(FileNotFoundError, match=r"neither a local directory nor a catalog name.*Nothing is downloaded"):
        from_pretrained("bert-base-uncasd", cache_dir=tmp_path)
