"""Our exports rebuilt as native Keras encoders (hub/native.py); foreign SavedModels are not ours."""

import numpy as np

from official_encoders.hub.native import export_config, load_native_encoder
from tests.official_encoders import tiny_saved_models as tsm


def test_our_export_gives_our_encoder_with_its_weights_and_vocabulary(tiny_bert_hub):
    native = load_native_encoder(tiny_bert_hub["encoder"])
    source = tiny_bert_hub["result"].encoder
    assert native.config == source.config and type(native.encoder) is type(source)
    assert len(native.encoder.weights) == len(source.weights) > 20
    for restored, original in zip(native.encoder.weights, source.weights):
        np.testing.assert_array_equal(np.array(restored), np.array(original))
    assert native.vocab_file.endswith("vocab.txt") and native.do_lower_case is True
    inputs = {k: np.asarray(v) for k, v in tsm.random_encoder_inputs(2, 5).items()}
    np.testing.assert_allclose(native.encoder(inputs)["pooled_output"], source(inputs)["pooled_output"], atol=1e-6)


def test_a_foreign_saved_model_is_not_ours(tmp_path):
    path = tsm.save_hand_built_encoder(tmp_path / "foreign")
    assert export_config(path) is None and load_native_encoder(path) is None
