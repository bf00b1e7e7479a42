"""Reusable SavedModels of the real encoders: reload parity, heads, assets, tf_keras fine-tuning."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from export import saved_model, verify
from tests.export import tiny_models

FAMILIES = [("bert", "mlm"), ("albert", "mlm"), ("electra", "rtd")]


@pytest.fixture(scope="module")
def vocab_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("vocab")
    return {"vocab": tiny_models.write_vocab(d), "sp": tiny_models.write_sp_model(d)}


def _result(family, head, vocab_dir, **kw):
    if family == "albert":
        return tiny_models.tiny_result(family, head, sp_model_file=vocab_dir["sp"], **kw)
    return tiny_models.tiny_result(family, head, vocab_file=vocab_dir["vocab"], **kw)


@pytest.fixture(scope="module")
def exports(tmp_path_factory, vocab_dir):
    """One export per family (bert with legacy_v1), saved once for the module."""
    keras.utils.set_random_seed(0)  # the same random weights in every run
    out = {}
    for family, head in FAMILIES:
        result = _result(family, head, vocab_dir)
        path = tmp_path_factory.mktemp(family) / "sm"
        module = saved_model.build_encoder_module(result, legacy_v1=(family == "bert"))
        saved_model.save_encoder_model(module, path)
        out[family] = (result, path)
    return out


def _inputs(seq=9, batch=2, positions=True):
    inputs = verify.sample_inputs(100, 2, batch=batch, seq_length=seq)
    if not positions:
        inputs.pop("masked_lm_positions")
    return inputs


@pytest.mark.parametrize("family,head", FAMILIES)
def test_export_verifies_against_the_keras_model(exports, family, head):
    result, path = exports[family]
    figures = verify.verify_encoder(path, result, legacy_v1=(family == "bert"))
    expected_parts = {"root", head, "keras_layer", f"keras_layer_{head}"} | ({"legacy_v1"} if family == "bert" else set())
    assert set(figures["max_abs_diff"]) == expected_parts
    assert max(figures["max_abs_diff"].values()) <= 1e-5
    counts = figures["trainable_variables"]
    assert counts["found"] == counts["expected"]
    assert counts["found"]["root"] == len(result.encoder.trainable_variables) > 0
    assert counts["found"][head] > counts["found"]["root"]
    assert figures["dropout"]["training_changes_output"] and figures["dropout"]["inference_deterministic"]
    assert figures["gradients"]["with_gradient"] == figures["gradients"]["variables"]


def test_signatures_outputs_and_assets(exports, vocab_dir):
    loaded = tf.saved_model.load(str(exports["bert"][1]))
    serving = loaded.signatures["serving_default"]
    assert set(serving.structured_outputs) == {"pooled_output", "sequence_output"}
    assert set(serving.structured_input_signature[1]) == set(saved_model.INPUT_KEYS)
    mlm = loaded.signatures["mlm"]
    assert set(mlm.structured_outputs) == {"pooled_output", "sequence_output", "mlm_logits"}
    inputs = _inputs()
    out = mlm(**inputs)
    assert out["mlm_logits"].shape == (2, 3, 100) and out["mlm_logits"].dtype == tf.float32
    root = loaded(_inputs(positions=False))
    assert set(root) == {"pooled_output", "default", "sequence_output", "encoder_outputs"}
    assert len(root["encoder_outputs"]) == 2
    np.testing.assert_array_equal(root["encoder_outputs"][-1], root["sequence_output"])
    with open(loaded.vocab_file.asset_path.numpy(), "rb") as f:
        assert f.read() == vocab_dir["vocab"].read_bytes()
    assert bool(loaded.do_lower_case.numpy()) is True
    assert not hasattr(loaded, "sp_model_file")

    albert = tf.saved_model.load(str(exports["albert"][1]))
    with open(albert.sp_model_file.asset_path.numpy(), "rb") as f:
        assert f.read() == vocab_dir["sp"].read_bytes()
    assert not hasattr(albert, "vocab_file")
    electra = tf.saved_model.load(str(exports["electra"][1]))
    assert set(electra.signatures) == {"serving_default", "rtd"}
    assert electra.rtd(_inputs(positions=False))["rtd_logits"].shape == (2, 9)
    assert not hasattr(electra, "mlm")


@pytest.mark.parametrize("family,head", [("bert", "mlm"), ("electra", "rtd")])
def test_heads_share_the_encoder_variables(exports, family, head):
    loaded = tf.saved_model.load(str(exports[family][1]))
    sub = getattr(loaded, head)
    root_ids = {id(v) for v in loaded.variables}
    assert root_ids < {id(v) for v in sub.variables}
    # Changing a root variable changes the head's outputs: one copy, not two.
    inputs = _inputs(positions=(head == "mlm"))
    before = sub(inputs)[saved_model.HEAD_OUTPUTS[head]].numpy()
    word_embeddings = next(v for v in loaded.trainable_variables if "word_embeddings" in v.name)
    # A large change (the embedding layer norm undoes a uniform scale of the whole sum), so that
    # a shared variable moves every head output clearly, whatever the random weights.
    word_embeddings.assign(word_embeddings * 10.0 + 1.0)
    after = sub(inputs)[saved_model.HEAD_OUTPUTS[head]].numpy()
    assert np.abs(after - before).max() > 1e-3


def test_fine_tuning_through_keras_layer_and_mlm_gradients(exports):
    import tensorflow_hub as hub
    import tf_keras

    result, path = exports["bert"]
    names = saved_model.INPUT_KEYS
    inputs = {k: tf_keras.Input([None], dtype=tf.int32, name=k) for k in names}
    layer = hub.KerasLayer(str(path), trainable=True)
    logits = tf_keras.layers.Dense(2)(layer(inputs)["pooled_output"])
    model = tf_keras.Model(inputs, logits)
    optimizer = tf_keras.optimizers.Adam(1e-2)
    data = _inputs(batch=4, positions=False)
    labels = tf.constant([0, 1, 0, 1])
    before = [v.numpy().copy() for v in layer.trainable_weights]
    assert len(model.trainable_weights) == len(before) + 2
    for _ in range(2):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf_keras.losses.sparse_categorical_crossentropy(
                labels, model(data, training=True), from_logits=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_weights), model.trainable_weights))
    changed = sum(not np.array_equal(b, v.numpy()) for b, v in zip(before, layer.trainable_weights))
    assert changed == len(before) == len(result.encoder.trainable_variables)

    loaded = hub.load(str(path))
    mlm_layer = hub.KerasLayer(loaded.mlm, trainable=True)
    mlm_inputs = _inputs()
    with tf.GradientTape(persistent=True) as tape:
        loss = tf.reduce_sum(mlm_layer(mlm_inputs, training=True)["mlm_logits"] ** 2)
    grads = tape.gradient(loss, mlm_layer.trainable_weights)
    again = tape.gradient(loss, mlm_layer.trainable_weights)
    assert all(g is not None for g in grads) and all(g is not None for g in again)
    assert len(grads) == len(result.model.trainable_variables)


def test_legacy_v1_list_interface_in_tf_keras(exports):
    import tensorflow_hub as hub
    import tf_keras

    _, path = exports["bert"]
    ids, mask, segments = (tf_keras.Input([None], dtype=tf.int32) for _ in range(3))
    pooled, sequence = hub.KerasLayer(str(path), trainable=True)([ids, mask, segments])
    model = tf_keras.Model([ids, mask, segments], [pooled, sequence])
    inputs = _inputs(positions=False)
    got = model([inputs["input_word_ids"], inputs["input_mask"], inputs["input_type_ids"]])
    want = tf.saved_model.load(str(path))(inputs)
    np.testing.assert_allclose(got[0], want["pooled_output"], atol=1e-6)
    np.testing.assert_allclose(got[1], want["sequence_output"], atol=1e-6)
    # Without --legacy_v1 the list interface does not exist.
    with pytest.raises((TypeError, ValueError)):
        tf.saved_model.load(str(exports["electra"][1]))(
            [inputs["input_word_ids"], inputs["input_mask"], inputs["input_type_ids"]])


def test_regularization_losses_reach_keras_layer(tmp_path, vocab_dir):
    import keras
    import tensorflow_hub as hub
    import tf_keras

    result = _result("bert", None, vocab_dir)
    kernel = next(v for v in result.encoder.trainable_variables if v.path.endswith("pooler_transform/kernel"))
    kernel.regularizer = keras.regularizers.L2(0.5)
    saved_model.save_encoder_model(saved_model.build_encoder_module(result), tmp_path / "sm")
    loaded = hub.load(str(tmp_path / "sm"))
    expected = 0.5 * np.sum(np.square(kernel.numpy()))
    assert len(loaded.regularization_losses) == 1
    np.testing.assert_allclose(loaded.regularization_losses[0](), expected, rtol=1e-5)
    inputs = {k: tf_keras.Input([None], dtype=tf.int32, name=k) for k in saved_model.INPUT_KEYS}
    layer = hub.KerasLayer(loaded, trainable=True)
    model = tf_keras.Model(inputs, layer(inputs)["pooled_output"])
    np.testing.assert_allclose(sum(model.losses), expected, rtol=1e-5)


@pytest.mark.parametrize("family,head", FAMILIES)
def test_gradients_under_a_persistent_tape(exports, family, head):
    """Export verification uses a plain tape (a persistent one costs ~15 s at BERT-base), so
    the persistent-tape contract is checked here: two gradients from one persistent tape
    through the reloaded root and its head reach every trainable variable, for every family."""
    result, path = exports[family]
    loaded = tf.saved_model.load(str(path))
    inputs = _inputs(positions=(head == "mlm"))
    sub = getattr(loaded, head)
    with tf.GradientTape(persistent=True) as tape:
        root = loaded({k: inputs[k] for k in saved_model.INPUT_KEYS}, training=True)
        head_out = sub(inputs, training=True)[saved_model.HEAD_OUTPUTS[head]]
        root_loss = tf.reduce_sum(root["pooled_output"] ** 2) + tf.reduce_sum(root["sequence_output"] ** 2)
        head_loss = tf.reduce_sum(tf.cast(head_out, tf.float32) ** 2)
    root_grads = tape.gradient(root_loss, loaded.trainable_variables)
    head_grads = tape.gradient(head_loss, sub.trainable_variables)
    again = tape.gradient(root_loss, loaded.trainable_variables)
    del tape
    assert len(root_grads) == len(result.encoder.trainable_variables)
    assert len(head_grads) == len(result.model.trainable_variables)
    for grads in (root_grads, head_grads, again):
        assert all(g is not None and np.isfinite(tf.convert_to_tensor(g).numpy()).all() for g in grads)
    np.testing.assert_allclose(tf.convert_to_tensor(again[0]), tf.convert_to_tensor(root_grads[0]))


def test_verification_names_variables_without_a_gradient():
    class Disconnected(tf.Module):
        def __init__(self):
            self.used = tf.Variable(2.0)
            self.unused = tf.Variable(3.0)

        def __call__(self, inputs, training=False):
            value = tf.cast(inputs["input_word_ids"], tf.float32) * self.used
            return {"pooled_output": value, "sequence_output": value}

    problems = []
    figures, outputs = verify._check_gradients(Disconnected(), _inputs(), problems)
    assert figures == {"variables": 2, "with_gradient": 1, "finite": True}
    assert problems == ["only 1 of 2 trainable variables get a gradient"]
    assert set(outputs) == {"pooled_output", "sequence_output"}


def test_verification_fails_when_the_export_differs(exports):
    result, path = exports["bert"]
    head_bias = next(v for v in result.model.trainable_variables if "masked_lm" in v.path and "bias" in v.path)
    head_bias.assign(head_bias + 1.0)
    try:
        with pytest.raises(verify.VerificationError, match=r"mlm: max abs diff 1 > 1e-05"):
            verify.verify_encoder(path, result)
    finally:
        head_bias.assign(head_bias - 1.0)


def test_mixed_precision_export_returns_float32(tmp_path, vocab_dir):
    import keras

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        result = _result("bert", None, vocab_dir)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert result.encoder.dtype_policy.compute_dtype == "bfloat16"
    saved_model.save_encoder_model(saved_model.build_encoder_module(result), tmp_path / "sm")
    figures = verify.verify_encoder(tmp_path / "sm", result)
    assert figures["tolerance"] == verify.MIXED_TOLERANCE
    out = tf.saved_model.load(str(tmp_path / "sm"))(_inputs(positions=False))
    assert out["sequence_output"].dtype == tf.float32


def test_missing_vocabulary_is_a_clear_error():
    result = tiny_models.tiny_result("bert", None)
    with pytest.raises(ValueError, match="pass --vocab_file .* or --sp_model_file"):
        saved_model.build_encoder_module(result)
