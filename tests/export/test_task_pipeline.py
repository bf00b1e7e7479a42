"""`--export_type` for the text-in task models, end to end: publish, manifest, card, errors."""

import pathlib
import re

import pytest

from export.pipeline import ExportOptions, run_export
from official_encoders.hub.manifest import manifest_problems, read_manifest
from tests.official_encoders.serving.conftest import NER_LABELS, TOPIC_LABELS, hf_task_directory
from tests.preprocessors.conftest import tiny_vocab  # noqa: F401  (shared fixture)


def _python_blocks(markdown):
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


def _hf_dir(tmp_path, vocab, task_class, labels, **config):
    import transformers

    return hf_task_directory(tmp_path / task_class, vocab, getattr(transformers, task_class), labels,
                             classifier_scale=10.0, **config)


def test_sequence_classification_pairs_publish_with_labels_manifest_and_a_card_that_runs(tmp_path, tiny_vocab,  # noqa: F811
                                                                                         monkeypatch):
    source = _hf_dir(tmp_path, tiny_vocab, "BertForSequenceClassification", TOPIC_LABELS)
    hub = tmp_path / "hub"
    summary = run_export(ExportOptions(source=f"hf:{source}", hub_root=str(hub), export_type="sequence_classification",
                                       text_pairs=True, name="tiny_topics"), printer=lambda line: None)
    (artifact,) = summary.artifacts
    assert artifact.kind == "task" and artifact.path == str(hub / "local" / "tiny_topics" / "1")
    assert manifest_problems(artifact.path, require=True) == []
    assert pathlib.Path(artifact.tarball).is_file()
    manifest = read_manifest(artifact.path)
    assert manifest["artifact"] == "task" and manifest["task"] == "sequence_classification"
    assert manifest["labels"] == list(TOPIC_LABELS) and manifest["text_pairs"] is True
    assert manifest["serving_default"]["inputs"] == ["text", "text_pair"]
    assert max(manifest["verification"]["max_abs_diff"].values()) <= 1e-5
    assert "serving_default outputs: label, probabilities, score" in summary.text()
    card = pathlib.Path(artifact.card).read_text()
    assert "<!-- module-type: text-classification -->" in card and ", ".join(TOPIC_LABELS) in card
    assert 'HUB_ROOT = "hub"' in card  # handles are relative to the hub tree, no machine path
    monkeypatch.chdir(hub.parent)
    namespace = {}
    for block in _python_blocks(card):  # the usage code runs as written, against the published handle
        exec(compile(block, "model_card", "exec"), namespace)
    assert namespace["out"]["probabilities"].shape == (1, len(TOPIC_LABELS))
    assert namespace["model"].output_shape == (None, len(TOPIC_LABELS))


def test_token_classification_publishes_an_entity_tagger(tmp_path, tiny_vocab):  # noqa: F811
    import tensorflow as tf

    source = _hf_dir(tmp_path, tiny_vocab, "BertForTokenClassification", NER_LABELS)
    summary = run_export(ExportOptions(source=f"hf:{source}", hub_root=str(tmp_path / "hub"),
                                       export_type="token_classification"), printer=lambda line: None)
    (artifact,) = summary.artifacts
    assert summary.name.endswith("_token_classification")
    serve = tf.saved_model.load(artifact.path).signatures["serving_default"]
    out = serve(text=tf.constant(["hello world, the café", ""]))
    assert sorted(out) == ["end", "entity_group", "num_entities", "score", "start", "word"]
    assert int(out["num_entities"][1]) == 0


def test_text_pairs_are_refused_where_they_cannot_work(tmp_path, tiny_vocab):  # noqa: F811
    source = _hf_dir(tmp_path, tiny_vocab, "BertForSequenceClassification", TOPIC_LABELS, type_vocab_size=1)
    options = dict(source=f"hf:{source}", hub_root=str(tmp_path / "hub"), text_pairs=True)
    with pytest.raises(ValueError, match=r"--text_pairs\) needs an encoder with segment types"):
        run_export(ExportOptions(export_type="sequence_classification", **options), printer=lambda line: None)
    with pytest.raises(ValueError, match="--text_pairs applies to --export_type=sequence_classification"):
        run_export(ExportOptions(export_type="token_classification", **options), printer=lambda line: None)
    assert not (tmp_path / "hub" / "local").exists() or not any((tmp_path / "hub" / "local").rglob("saved_model.pb"))


def test_serving_settings_take_the_flag_then_the_recorded_setting_then_the_default():
    from types import SimpleNamespace

    from export.pipeline import QUESTION_ANSWERING_DEFAULTS, serving_settings

    recorded = SimpleNamespace(task_settings={"seq_length": 96, "doc_stride": 32, "text_pairs": True})
    options = ExportOptions(source="tf2:/x", hub_root="/h", max_query_length=20)
    qa = serving_settings(options, recorded, "question_answering")
    assert qa == dict(QUESTION_ANSWERING_DEFAULTS, max_seq_length=96, doc_stride=32, max_query_length=20)
    assert serving_settings(options, recorded, "sequence_classification") == {"text_pairs": True, "max_seq_length": 96}
    explicit = ExportOptions(source="tf2:/x", hub_root="/h", text_pairs=False, max_seq_length=64)
    assert serving_settings(explicit, recorded, "sequence_classification") == {"text_pairs": False,
                                                                               "max_seq_length": 64}
    assert serving_settings(options, SimpleNamespace(), "token_classification") == {"text_pairs": False,
                                                                                    "max_seq_length": None}


def test_verification_compares_empty_outputs_as_equal():
    """A tagger that finds no entity in the sample sentences serves [B, 0] outputs: no difference."""
    import numpy as np

    from export.verify import _max_abs_diff

    assert _max_abs_diff({"score": np.zeros([5, 0])}, {"score": np.zeros([5, 0])}) == 0.0
    assert _max_abs_diff({"score": np.zeros([2, 1])}, {"score": np.ones([2, 1])}) == 1.0
