"""Our own format: save_tf2/load_tf2 round trip, save_pretrained, and the source dispatch."""

import json
import os

import numpy as np
import pytest

from official_encoders.checkpoints import detect_format, load_directory, load_source, tf2
from official_encoders import EncoderWithMaskedLM, EncoderWithRtd, build_encoder
from tests.common.tiny_configs import tiny_config

TINY = dict(num_heads=4, max_position_embeddings=32, hidden_dropout=0.0, attention_dropout=0.0)


def _feed():
    ids = np.array([[2, 5, 7, 9, 3, 0], [2, 4, 3, 0, 0, 0]], np.int32)
    mask = (ids > 0).astype(np.int32)
    return dict(input_word_ids=ids, input_mask=mask, input_type_ids=np.zeros_like(ids),
                masked_lm_positions=np.array([[1, 2], [1, 0]], np.int32))


@pytest.mark.parametrize("family, wrapper, extra", [
    ("bert", EncoderWithMaskedLM, dict(attention_kind="talking_heads", feedforward_kind="gated_gelu")),
    ("albert", EncoderWithMaskedLM, dict(embedding_size=8)),
    ("electra", EncoderWithRtd, dict(embedding_size=8)),
])
def test_round_trip_keeps_outputs(tmp_path, family, wrapper, extra):
    config = tiny_config(family, **TINY, **extra)
    model = wrapper(build_encoder(config))
    prefix = tf2.save_tf2(model, tmp_path / "ckpt")
    (tmp_path / "config.json").write_text(config.to_json())
    result = tf2.load_tf2(prefix, tmp_path / "config.json")
    assert isinstance(result.model, wrapper) and result.config == config
    assert not result.report.missing and not result.report.unused
    assert len(result.report.loaded) == len(model.weights)
    feed = _feed()
    if wrapper is EncoderWithRtd:
        feed.pop("masked_lm_positions")
    expected, got = model(feed), result.model(feed)
    for key in expected:
        if key != "encoder_outputs":
            np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(expected[key]), err_msg=key)


def test_bare_encoder_and_missing_variable(tmp_path):
    config = tiny_config("bert", **TINY)
    tf2.save_tf2(build_encoder(config), tmp_path / "ckpt")
    (tmp_path / "config.json").write_text(config.replace(num_layers=3).to_json())
    with pytest.raises(ValueError, match="transformer/layer_2/self_attention/query/kernel"):
        tf2.load_tf2(tmp_path / "ckpt", tmp_path / "config.json")
    (tmp_path / "config.json").write_text(config.to_json())
    result = tf2.load_tf2(tmp_path / "ckpt", tmp_path / "config.json")
    assert result.model is result.encoder


def test_save_pretrained_directory_and_dispatch(tmp_path):
    result = load_source("preset:google/bert_uncased_L-2_H-128_A-2")
    assert result.do_lower_case is True and result.config.hidden_size == 128
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\nhello\n")
    result.vocab_file = str(vocab)
    out = tf2.save_pretrained(result, tmp_path / "cache" / "tiny")
    assert sorted(os.listdir(out))[:2] == ["ckpt.data-00000-of-00001", "ckpt.index"]
    meta = json.loads((tmp_path / "cache" / "tiny" / "encoder_config.json").read_text())
    assert meta["format"] == tf2.FORMAT and meta["vocab_file"] == "vocab.txt" and meta["do_lower_case"] is True
    assert detect_format(out) == "tf2"
    again = load_directory(out)
    assert again.config == result.config and again.do_lower_case is True
    # The source's identity survives the round trip, so an export is not named after the directory "tiny".
    assert meta["identity"] == result.identity.id == "small_bert/bert_en_uncased_L-2_H-128_A-2"
    assert (again.identity.id, again.identity.read_from) == (result.identity.id, tf2.CONFIG_FILE)
    assert open(again.vocab_file).read() == vocab.read_text()
    for a, b in zip(again.model.weights, result.model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    with pytest.raises(FileExistsError, match="not empty"):
        tf2.save_pretrained(result, out)
    result.identity = None  # what a directory saved before identities were kept looks like
    assert load_directory(tf2.save_pretrained(result, tmp_path / "cache" / "older")).identity.id == "older"
    assert [p for p in os.listdir(tmp_path / "cache") if p.startswith(".partial")] == []


def test_bad_specs_and_directories(tmp_path):
    with pytest.raises(ValueError, match="hf:<dir>, tf1:<ckpt prefix>"):
        load_source("safetensors:/x")
    with pytest.raises(KeyError, match="Close matches: bert_en_uncased_L-12_H-768_A-12"):
        load_source("preset:bert_en_uncased_L-12_H-768_A12")
    with pytest.raises(ValueError, match="not a model directory"):
        detect_format(tmp_path)
    with pytest.raises(FileNotFoundError, match="needs its config"):
        load_source(f"tf1:{tmp_path}/model.ckpt")
