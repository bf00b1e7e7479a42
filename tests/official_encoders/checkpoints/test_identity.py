"""A source's identity (what it calls itself) and the hub-style name made from it."""

import json

import pytest

from official_encoders.checkpoints.identity import directory_identity, hf_identity, looks_like_hub_id
from official_encoders.hub.layout import NAME_PART, hub_style_name


@pytest.mark.parametrize("identity, name", [
    ("sentence-transformers/all-MiniLM-L6-v2", "all_minilm_l6_v2"),
    ("bert-base-uncased", "bert_base_uncased"),
    ("google/electra-small-discriminator", "electra_small_discriminator"),
    ("dbmdz/bert-base-german-cased", "bert_base_german_cased"),
    ("albert/albert-base-v2", "albert_base_v2"),
    ("uncased_L-12_H-768_A-12", "uncased_l_12_h_768_a_12"),  # a google-research TF1 directory
    ("multi_cased_L-12_H-768_A-12", "multi_cased_l_12_h_768_a_12"),
    ("my model v1.0 (final)", "my_model_v1_0_final"),
    ("Café-BERT__v2.", "cafe_bert_v2"),
    ("org/name/", "name"),
])
def test_hub_style_name_of_real_looking_ids_and_directories(identity, name):
    assert hub_style_name(identity) == name
    assert NAME_PART.match(name) and set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789_")


@pytest.mark.parametrize("identity", ["---", "东京模型", "org/...", ""])
def test_an_identity_without_letters_or_digits_asks_for_a_name(identity):
    with pytest.raises(ValueError, match=r"no letters or digits.*\(--name="):
        hub_style_name(identity)


def test_hub_ids_are_told_apart_from_paths():
    assert looks_like_hub_id("sentence-transformers/all-MiniLM-L6-v2") and looks_like_hub_id("bert-base-uncased")
    for path in ("/home/me/models/bert", "./bert", "~/bert", "a/b/c", "", None):
        assert not looks_like_hub_id(path)


def _hf_dir(directory, **config):
    directory.mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps({"model_type": "bert", **config}))
    return directory


def test_hf_identity_reads_name_or_path_unless_it_is_a_path(tmp_path):
    hub_id = _hf_dir(tmp_path / "checkpoint-500", _name_or_path="google-bert/bert-base-uncased")
    assert hf_identity(hub_id, hub_id).id == "google-bert/bert-base-uncased"
    assert hf_identity(hub_id, hub_id).read_from == "config.json _name_or_path"
    local = _hf_dir(tmp_path / "my-finetuned-bert", _name_or_path=str(tmp_path / "elsewhere"))
    assert hf_identity(local, local).id == "my-finetuned-bert"
    assert hf_identity(local, local).read_from == "the directory name"


def test_sentence_transformers_identity_comes_from_its_readme_not_the_base_model(tmp_path):
    root = _hf_dir(tmp_path / "model", _name_or_path="nreimers/MiniLM-L6-H384-uncased")
    (root / "modules.json").write_text(json.dumps([{"path": "", "type": "sentence_transformers.models.Transformer"}]))
    assert hf_identity(root, root).id == "model"  # no README: the directory, never the base model
    (root / "README.md").write_text("# my-embedder\n\n```python\nmodel = SentenceTransformer('acme/my-embedder')\n```\n")
    assert (hf_identity(root, root).id, hf_identity(root, root).read_from) == ("acme/my-embedder", "README.md")


def test_the_hugging_face_cache_layout_gives_the_cached_id(tmp_path):
    snapshot = _hf_dir(tmp_path / "hub" / "models--sentence-transformers--all-MiniLM-L6-v2" / "snapshots" / "c9745ed1")
    assert hf_identity(snapshot, snapshot).id == "sentence-transformers/all-MiniLM-L6-v2"
    assert directory_identity(tmp_path / "uncased_L-12_H-768_A-12").id == "uncased_L-12_H-768_A-12"
