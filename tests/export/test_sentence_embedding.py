"""sentence-transformers sources export `sentence_embedding`: equal to SentenceTransformer.encode, recorded,
verified, and what the card tells users to use."""

import pathlib
import re

import numpy as np
import pytest

from export import pipeline, saved_model, verify
from official_encoders.checkpoints.sentence_pooling import SentencePooling
from official_encoders.hub.manifest import read_manifest
from tests.common.sentence_transformers_dirs import MAX_SEQ_LENGTH, write_sentence_transformers_dir
from tests.export.tiny_models import tiny_result, write_vocab

TEXTS = ["the quick brown fox", "Hello, world! how do I reset my password?", "",
         "a man is playing guitar on stage " * 3, "Straße und Ärger: the cat sleeps", "flour"]


def _export(source, hub_root, export_type="all"):
    return pipeline.run_export(pipeline.ExportOptions(
        source=f"hf:{source}", hub_root=str(hub_root), export_type=export_type, name="tiny_st",
        seq_length=MAX_SEQ_LENGTH), printer=lambda m: None)


def _check_against_encode(summary, reference, modes, normalize):
    import tensorflow as tf
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401  (registers the preprocessor's ops)

    encoder_dir, preprocess_dir = (a.path for a in summary.artifacts)
    preprocessor, encoder = hub.load(preprocess_dir), hub.load(encoder_dir)
    inputs = preprocessor(tf.constant(TEXTS))
    got = encoder(inputs)["sentence_embedding"]
    served = encoder.signatures["serving_default"](**inputs)["sentence_embedding"]
    want = reference.encode(TEXTS, convert_to_numpy=True, batch_size=4)
    assert got.dtype == tf.float32 and tuple(got.shape) == (len(TEXTS), 16 * len(modes))
    np.testing.assert_allclose(got, want, atol=2e-5, rtol=1e-4)
    np.testing.assert_allclose(served, got, atol=1e-6)
    cosine = np.sum(got * want, axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(want, axis=1))
    assert cosine.min() >= 0.9999

    record = {"modes": list(modes), "normalize": normalize, "include_prompt": True}
    assert read_manifest(encoder_dir)["sentence_pooling"] == record
    assert saved_model.read_sentence_pooling(encoder) == record


@pytest.mark.slow  # sentence-transformers (torch) is the reference
def test_every_mode_concatenated_equals_sentence_transformers_encode(tmp_path):
    modes = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")
    directory, reference = write_sentence_transformers_dir(tmp_path / "st", modes, normalize=False)
    _check_against_encode(_export(directory, tmp_path / "hub"), reference, modes, False)


@pytest.mark.slow
def test_mean_normalize_equals_encode_and_the_card_says_to_use_it(tmp_path, monkeypatch):
    directory, reference = write_sentence_transformers_dir(tmp_path / "st", ("mean",), normalize=True)
    summary = _export(directory, tmp_path / "hub")
    _check_against_encode(summary, reference, ("mean",), True)
    card = pathlib.Path(summary.artifacts[0].card).read_text()
    usage = card.split("## Usage", 1)[1]
    assert "**Use `sentence_embedding`** ([batch, 16], float32)" in usage
    assert "the mean over the tokens under input_mask, then L2-normalised" in usage
    assert 'outputs["sentence_embedding"]' in usage and 'outputs["pooled_output"]' not in usage
    namespace = {}
    monkeypatch.chdir(tmp_path)  # the card's handles are relative to its hub tree ("hub")
    for block in re.findall(r"```python\n(.*?)```", card, flags=re.S):
        exec(compile(block, "model_card", "exec"), namespace)
    similarities = namespace["embeddings"].numpy() @ namespace["embeddings"].numpy().T
    np.testing.assert_allclose(np.diag(similarities), 1.0, rtol=1e-5)


def test_mlm_subobject_has_it_too_and_verification_catches_a_wrong_pooling(tmp_path):
    import tensorflow as tf

    result = tiny_result("bert", "mlm", vocab_file=write_vocab(tmp_path))
    result.sentence_pooling = SentencePooling(modes=("max",), normalize=True)
    module = saved_model.build_encoder_module(result)
    saved_model.save_encoder_model(module, tmp_path / "export")
    figures = verify.verify_encoder(tmp_path / "export", result)
    assert figures["max_abs_diff"]["mlm"] <= 1e-5
    loaded = tf.saved_model.load(str(tmp_path / "export"))
    inputs = verify.sample_inputs(100, 2)
    want = result.sentence_pooling.layer()(result.encoder(verify._encoder_only(inputs))["sequence_output"],
                                           inputs["input_mask"])
    for outputs in (loaded.mlm(inputs), loaded.signatures["mlm"](**inputs)):
        np.testing.assert_allclose(outputs["sentence_embedding"], want, atol=1e-5)

    result.sentence_pooling = SentencePooling(modes=("mean",), normalize=True)
    with pytest.raises(verify.VerificationError, match=r"sentence_pooling attribute is .*'max'.*'mean'"):
        verify.verify_encoder(tmp_path / "export", result)


def test_a_plain_encoder_has_no_sentence_embedding(tmp_path):
    result = tiny_result("bert", None, vocab_file=write_vocab(tmp_path))
    module = saved_model.build_encoder_module(result)
    assert not hasattr(module, "sentence_pooling") and saved_model.read_sentence_pooling(module) is None
    inputs = verify._encoder_only(verify.sample_inputs(100, 2))
    assert "sentence_embedding" not in module.__call__(inputs) and "sentence_embedding" not in module.signature()(inputs)
