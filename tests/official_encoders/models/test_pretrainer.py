"""EncoderWithMaskedLM / EncoderWithRtd: shared variables, tied output table, gathers, save/reload."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from official_encoders import EncoderWithMaskedLM, EncoderWithRtd, build_encoder
from tests.official_encoders.encoder_checks import random_inputs
from tests.common.tiny_configs import tiny_config


def _mlm_inputs(config):
    inputs = random_inputs(2, 6, config.vocab_size, valid_lengths=[6, 4])
    inputs["masked_lm_positions"] = np.array([[0, 5, 2], [1, 3, 0]], "int32")
    return inputs


@pytest.mark.parametrize("family", ["bert", "albert", "electra"])
def test_masked_lm_shares_the_encoder_and_ties_the_embedding(family, tmp_path):
    config = tiny_config(family)
    encoder = build_encoder(config)
    model = EncoderWithMaskedLM(encoder)
    assert model.encoder is encoder
    encoder_ids = {id(v) for v in encoder.weights}
    assert encoder_ids <= {id(v) for v in model.weights}
    head_paths = sorted(v.path for v in model.weights if id(v) not in encoder_ids)
    assert head_paths == ["masked_lm/layer_norm/beta", "masked_lm/layer_norm/gamma", "masked_lm/output_bias",
                          "masked_lm/transform/bias", "masked_lm/transform/kernel"]

    inputs = _mlm_inputs(config)
    outputs = model(inputs)
    assert outputs["mlm_logits"].shape == (2, 3, config.vocab_size)
    np.testing.assert_allclose(outputs["sequence_output"], encoder(inputs)["sequence_output"], atol=1e-6)

    # The logits are the head's hidden state times the word-embedding table, gathered at the positions.
    head = model.masked_lm
    gathered = np.take_along_axis(outputs["sequence_output"].numpy(), inputs["masked_lm_positions"][..., None], 1)
    hidden = head.layer_norm(head.transform(gathered)).numpy()
    expected = hidden @ encoder.word_embeddings.embeddings.numpy().T + head.output_bias.numpy()
    np.testing.assert_allclose(outputs["mlm_logits"], expected, atol=1e-5)

    path = tmp_path / "mlm.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(reloaded(inputs)["mlm_logits"], outputs["mlm_logits"], atol=1e-6)
    assert reloaded.encoder.config == config


def test_masked_lm_needs_positions():
    config = tiny_config("bert")
    with pytest.raises(KeyError, match="masked_lm_positions"):
        EncoderWithMaskedLM(build_encoder(config))(random_inputs(1, 3))


def test_rtd_head_gives_one_logit_per_token(tmp_path):
    config = tiny_config("electra")
    model = EncoderWithRtd(build_encoder(config))
    inputs = random_inputs(2, 5)
    outputs = model(inputs)
    assert outputs["rtd_logits"].shape == (2, 5) and outputs["rtd_logits"].dtype == tf.float32
    hidden = model.rtd.dense(outputs["sequence_output"])
    expected = np.squeeze(model.rtd.prediction(hidden).numpy(), -1)
    np.testing.assert_allclose(outputs["rtd_logits"], expected, atol=1e-6)
    path = tmp_path / "rtd.keras"
    model.save(path)
    np.testing.assert_allclose(keras.saving.load_model(path)(inputs)["rtd_logits"], outputs["rtd_logits"], atol=1e-6)


def test_masked_lm_jit_and_mixed_precision():
    config = tiny_config("bert")
    inputs = _mlm_inputs(config)
    model = EncoderWithMaskedLM(build_encoder(config))
    jitted = tf.function(lambda x: model(x)["mlm_logits"], jit_compile=True)
    np.testing.assert_allclose(jitted(inputs), model(inputs)["mlm_logits"], atol=1e-5)
    keras.config.set_dtype_policy("mixed_float16")
    try:
        half = EncoderWithMaskedLM(build_encoder(config))
    finally:
        keras.config.set_dtype_policy("float32")
    half.set_weights(model.get_weights())
    logits = half(inputs)["mlm_logits"]
    assert logits.dtype == tf.float32
    np.testing.assert_allclose(logits, model(inputs)["mlm_logits"], atol=0.05)
