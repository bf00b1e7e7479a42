"""Reading a sentence-transformers directory's pooling: directories saved by the real library (slow: it
needs torch), hand-written ones in the older spelling, and the refusals."""

import json

import pytest

from official_encoders.checkpoints.hf import load_hf
from official_encoders.checkpoints.sentence_pooling import SentencePooling, read_sentence_pooling
from official_encoders.checkpoints.tf2 import load_tf2, save_pretrained
from official_encoders import build_encoder
from tests.common.sentence_transformers_dirs import write_sentence_transformers_dir
from tests.common.tiny_configs import tiny_config
from tests.common.tiny_vocab import write_vocab
from tests.official_encoders.checkpoints.hf_dirs import write_hf_dir


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    """A tiny BERT in Hugging Face names (hidden 16), written without torch."""
    directory = write_hf_dir(tmp_path_factory.mktemp("bert"), build_encoder(tiny_config("bert")), "bert")
    write_vocab(directory)
    return directory


@pytest.mark.slow
@pytest.mark.parametrize("modes, normalize, include_prompt", [
    (("mean",), True, True), (("cls",), False, True), (("max", "mean_sqrt_len_tokens"), False, False),
    (("weightedmean", "lasttoken", "mean"), True, True)])
def test_directory_saved_by_sentence_transformers(modes, normalize, include_prompt, tmp_path):
    directory, _ = write_sentence_transformers_dir(tmp_path / "st", modes, normalize, include_prompt)
    result = load_hf(directory)
    assert result.sentence_pooling == SentencePooling(modes=modes, normalize=normalize, include_prompt=include_prompt)
    assert str(directory / "1_Pooling" / "config.json") in result.source_files


def test_plain_hugging_face_directory_has_none(hf_dir):
    assert load_hf(hf_dir).sentence_pooling is None


def _st_dir(tmp_path, hf_dir, pooling, modules=None, normalize_config=None):
    """A hand-written sentence-transformers layout around `hf_dir` (the Transformer module's path)."""
    modules = modules or [{"idx": 0, "name": "0", "path": str(hf_dir), "type": "sentence_transformers.models.Transformer"},
                          {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                          {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_Pooling").mkdir(exist_ok=True)
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    if normalize_config is not None:
        (tmp_path / "2_Normalize").mkdir(exist_ok=True)
        (tmp_path / "2_Normalize" / "config.json").write_text(json.dumps(normalize_config))
    return tmp_path


def test_legacy_boolean_keys_in_sentence_transformers_order(tmp_path, hf_dir):
    """all-MiniLM-L6-v2's spelling; several true flags concatenate as cls, max, mean, ..."""
    pooling = {"word_embedding_dimension": 16, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
               "pooling_mode_max_tokens": True, "pooling_mode_mean_sqrt_len_tokens": False}
    directory = _st_dir(tmp_path, hf_dir, pooling)  # 2_Normalize has no config, as in older versions
    assert load_hf(directory).sentence_pooling == SentencePooling(modes=("max", "mean"), normalize=True)
    pooling = {"word_embedding_dimension": 16, "pooling_mode_mean_tokens": False}
    assert read_sentence_pooling(_st_dir(tmp_path, hf_dir, pooling)).modes == ("mean",)  # the library's default


@pytest.mark.parametrize("pooling, message", [
    ({"embedding_dimension": 16, "pooling_mode": "mean", "pooling_mode_attention": True},
     r"unsupported Pooling key 'pooling_mode_attention'"),
    ({"embedding_dimension": 16, "pooling_mode": "median"}, r"'pooling_mode' 'median' is not a sentence-transformers"),
    ({"embedding_dimension": 16, "pooling_mode": [1]}, r"'pooling_mode' must be a mode name or a list"),
    ({"embedding_dimension": 16, "pooling_mode_mean_tokens": "yes"}, r"'pooling_mode_mean_tokens' must be true or false"),
    ({"embedding_dimension": 16, "include_prompt": 0}, r"'include_prompt' must be true or false"),
    ({"embedding_dimension": 32, "pooling_mode": "mean"}, r"'embedding_dimension' is 32 but the encoder's hidden_size is 16"),
    (["mean"], r"a Pooling config is a JSON object"),
])
def test_malformed_pooling_config_is_named(pooling, message, tmp_path, hf_dir):
    with pytest.raises(ValueError, match=message) as info:
        load_hf(_st_dir(tmp_path, hf_dir, pooling))
    assert "1_Pooling/config.json" in str(info.value)


def test_unsupported_modules_are_refused_by_name(tmp_path, hf_dir):
    pooling = {"embedding_dimension": 16, "pooling_mode": "mean"}
    modules = [{"path": str(hf_dir), "type": "sentence_transformers.models.Transformer"},
               {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"path": "2_Dense", "type": "sentence_transformers.models.Dense"}]
    with pytest.raises(ValueError, match=r"'sentence_transformers.models.Dense' \(path '2_Dense'\) is not supported"):
        load_hf(_st_dir(tmp_path, hf_dir, pooling, modules=modules))
    normalize_first = [modules[0], {"path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}, modules[1]]
    with pytest.raises(ValueError, match=r"Normalize'.*then one Pooling, then optionally one Normalize"):
        load_hf(_st_dir(tmp_path, hf_dir, pooling, modules=normalize_first))
    with pytest.raises(ValueError, match=r"Normalize 'module_input_name' is 'token_embeddings'"):
        load_hf(_st_dir(tmp_path, hf_dir, pooling, normalize_config={"module_input_name": "token_embeddings"}))


def test_unreadable_modules_json_is_named(tmp_path, hf_dir):
    _st_dir(tmp_path, hf_dir, {"pooling_mode": "mean"})
    (tmp_path / "modules.json").write_text("[{")
    with pytest.raises(ValueError, match=r"modules.json: cannot read the sentence-transformers module list"):
        read_sentence_pooling(tmp_path)


def test_tf2_checkpoint_keeps_the_pooling_both_ways(tmp_path, hf_dir):
    pooling = {"embedding_dimension": 16, "pooling_mode": ["cls", "mean"], "include_prompt": False}
    result = load_hf(_st_dir(tmp_path / "st", hf_dir, pooling))
    assert result.sentence_pooling == SentencePooling(modes=("cls", "mean"), normalize=True, include_prompt=False)
    saved = save_pretrained(result, tmp_path / "tf2")
    assert json.loads((tmp_path / "tf2" / "encoder_config.json").read_text())["sentence_pooling"] == {
        "modes": ["cls", "mean"], "normalize": True, "include_prompt": False}
    assert load_tf2(saved).sentence_pooling == result.sentence_pooling
    assert load_tf2(save_pretrained(load_hf(hf_dir), tmp_path / "tf2_plain")).sentence_pooling is None


def test_record_round_trip_and_bad_records():
    pooling = SentencePooling(modes=("max",), normalize=False, include_prompt=False)
    assert SentencePooling.from_dict(json.dumps(pooling.to_dict())) == pooling
    assert SentencePooling.from_dict(None) is None
    with pytest.raises(ValueError, match=r"unknown keys \['mode'\]"):
        SentencePooling.from_dict({"mode": ["mean"]})
    with pytest.raises(ValueError, match="normalize must be true or false"):
        SentencePooling(normalize="yes")
