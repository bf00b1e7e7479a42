"""One set of checks that every encoder class must pass (run by test_encoder_contract)."""

import numpy as np
import tensorflow as tf
import keras

from official_encoders import build_encoder

OUTPUT_KEYS = {"pooled_output", "default", "sequence_output", "encoder_outputs"}


def random_inputs(batch, length, vocab_size=100, seed=0, valid_lengths=None):
    rng = np.random.default_rng(seed)
    if valid_lengths is None:
        valid_lengths = rng.integers(1, length + 1, size=batch)
    mask = (np.arange(length)[None, :] < np.asarray(valid_lengths)[:, None]).astype("int32")
    word_ids = rng.integers(1, vocab_size, size=(batch, length)).astype("int32") * mask
    type_ids = (rng.integers(0, 2, size=(batch, length)) * mask).astype("int32")
    return {"input_word_ids": word_ids, "input_mask": mask, "input_type_ids": type_ids}


def to_numpy(outputs):
    return {k: ([t.numpy() for t in v] if k == "encoder_outputs" else v.numpy()) for k, v in outputs.items()}


def assert_outputs_close(actual, expected, atol):
    actual, expected = to_numpy(actual), to_numpy(expected)
    assert set(actual) == set(expected)
    for key in expected:
        if key == "encoder_outputs":
            for a, e in zip(actual[key], expected[key]):
                np.testing.assert_allclose(a, e, atol=atol, rtol=0, err_msg=key)
        else:
            np.testing.assert_allclose(actual[key], expected[key], atol=atol, rtol=0, err_msg=key)


def check_call(encoder, config):
    inputs = random_inputs(3, 7, config.vocab_size)
    outputs = encoder(inputs, training=False)
    assert set(outputs) == OUTPUT_KEYS
    assert outputs["sequence_output"].shape == (3, 7, config.hidden_size)
    assert outputs["pooled_output"].shape == (3, config.hidden_size)
    assert len(outputs["encoder_outputs"]) == config.num_layers
    for layer_output in outputs["encoder_outputs"]:
        assert layer_output.shape == (3, 7, config.hidden_size)
        assert layer_output.dtype == tf.float32
    np.testing.assert_array_equal(outputs["encoder_outputs"][-1], outputs["sequence_output"])
    np.testing.assert_array_equal(outputs["default"], outputs["pooled_output"])
    assert np.all(np.isfinite(outputs["sequence_output"].numpy()))
    # Layers must differ from each other (each block really runs).
    assert not np.allclose(outputs["encoder_outputs"][0], outputs["encoder_outputs"][1])


def check_config_round_trip(encoder, config):
    assert encoder.config == config
    rebuilt = type(encoder).from_config(encoder.get_config())
    assert rebuilt.config == config
    assert [v.path for v in rebuilt.weights] == [v.path for v in encoder.weights]
    rebuilt.set_weights(encoder.get_weights())
    inputs = random_inputs(2, 5, config.vocab_size)
    assert_outputs_close(rebuilt(inputs), encoder(inputs), atol=1e-6)


def check_padding_is_masked(encoder, config):
    """Padding must not change the outputs at real positions, whatever the padded length."""
    short = random_inputs(2, 5, config.vocab_size, valid_lengths=[5, 3])
    padded = {k: np.pad(v, [(0, 0), (0, 6)]) for k, v in short.items()}
    a, b = encoder(short), encoder(padded)
    mask = short["input_mask"].astype(bool)
    np.testing.assert_allclose(b["sequence_output"].numpy()[:, :5][mask], a["sequence_output"].numpy()[mask],
                               atol=1e-5)
    np.testing.assert_allclose(b["pooled_output"], a["pooled_output"], atol=1e-5)


def check_dynamic_length_function(encoder, config):
    """One traced function serves every sequence length; too long a sequence fails clearly."""
    spec = {k: tf.TensorSpec([None, None], tf.int32) for k in ("input_word_ids", "input_mask", "input_type_ids")}
    fn = tf.function(lambda x: encoder(x, training=False)["sequence_output"], input_signature=[spec])
    for length in (1, 4, config.max_position_embeddings):
        inputs = random_inputs(2, length, config.vocab_size)
        np.testing.assert_allclose(fn(inputs), encoder(inputs)["sequence_output"], atol=1e-5)
    too_long = random_inputs(1, config.max_position_embeddings + 1, config.vocab_size)
    limit = f"max_position_embeddings={config.max_position_embeddings}"
    try:
        fn(too_long)
    except tf.errors.InvalidArgumentError as e:
        assert limit in e.message
    else:
        raise AssertionError("a too-long sequence passed the traced encoder")
    try:
        encoder(too_long)
    except ValueError as e:
        assert f"length {config.max_position_embeddings + 1}" in str(e) and limit in str(e)
    else:
        raise AssertionError("a too-long sequence passed the eager encoder")


def check_jit_compile(encoder, config):
    inputs = random_inputs(2, 6, config.vocab_size)
    jitted = tf.function(lambda x: encoder(x, training=False), jit_compile=True)
    assert_outputs_close(jitted(inputs), encoder(inputs), atol=1e-5)


def check_training_and_gradients(encoder, config):
    inputs = random_inputs(2, 6, config.vocab_size, valid_lengths=[6, 6])
    with tf.GradientTape(persistent=True) as tape:
        outputs = encoder(inputs, training=True)
        loss = tf.reduce_sum(outputs["pooled_output"] ** 2) + tf.reduce_sum(outputs["sequence_output"] ** 2)
    grads = tape.gradient(loss, encoder.trainable_variables)
    assert len(grads) == len(encoder.trainable_variables)
    missing = [v.path for v, g in zip(encoder.trainable_variables, grads) if g is None]
    assert not missing, f"no gradient for {missing}"
    if config.hidden_dropout > 0:
        inference = encoder(inputs, training=False)["sequence_output"]
        assert not np.allclose(outputs["sequence_output"], inference), "dropout did not act under training=True"


def check_mixed_precision(encoder, config, policy):
    """Under `policy` the encoder runs in half precision, keeps layer norms in float32, and stays close."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        half = build_encoder(config)
    finally:
        keras.config.set_dtype_policy(previous)
    half.set_weights(encoder.get_weights())
    compute = policy.split("_")[1]
    assert half.transformer_layers[0].self_attention.query.compute_dtype == compute
    assert half.transformer_layers[0].output_layer_norm.compute_dtype == "float32"
    assert all(v.dtype == "float32" for v in half.weights)
    inputs = random_inputs(2, 6, config.vocab_size)
    outputs = half(inputs, training=False)
    assert outputs["sequence_output"].dtype == tf.float32
    assert outputs["pooled_output"].dtype == tf.float32
    reference = encoder(inputs, training=False)
    tolerance = 0.05 if compute == "bfloat16" else 0.01  # observed worst over seeds: 0.011 / 0.0014
    np.testing.assert_allclose(outputs["sequence_output"], reference["sequence_output"], atol=tolerance)
    jitted = tf.function(lambda x: half(x, training=False)["sequence_output"], jit_compile=True)
    np.testing.assert_allclose(jitted(inputs), outputs["sequence_output"], atol=tolerance)


def check_keras_save_and_reload(encoder, config, tmp_path):
    path = tmp_path / "encoder.keras"
    encoder.save(path)
    reloaded = keras.saving.load_model(path)
    assert type(reloaded) is type(encoder) and reloaded.config == config
    inputs = random_inputs(2, 5, config.vocab_size)
    assert_outputs_close(reloaded(inputs), encoder(inputs), atol=1e-6)


def check_saved_model_round_trip(encoder, config, tmp_path):
    spec = {k: tf.TensorSpec([None, None], tf.int32) for k in ("input_word_ids", "input_mask", "input_type_ids")}
    module = tf.Module()
    module.encoder = encoder
    module.serve = tf.function(lambda x: encoder(x, training=False), input_signature=[spec])
    tf.saved_model.save(module, str(tmp_path / "saved_model"))
    reloaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    inputs = random_inputs(2, 9, config.vocab_size)
    assert_outputs_close(reloaded.serve(inputs), encoder(inputs), atol=1e-6)


def check_tf_checkpoint_round_trip(encoder, config, tmp_path):
    """tf.train.Checkpoint must hold every variable, and restoring must bring back the outputs."""
    path = tf.train.Checkpoint(encoder=encoder).write(str(tmp_path / "ckpt" / "encoder"))
    stored = [name for name, _ in tf.train.list_variables(path) if name.endswith("VARIABLE_VALUE")]
    assert len(stored) == len(encoder.weights), (
        f"tf.train.Checkpoint stored {len(stored)} of {len(encoder.weights)} variables")
    fresh = type(encoder)(config)
    tf.train.Checkpoint(encoder=fresh).read(path).assert_existing_objects_matched()
    inputs = random_inputs(2, 6, config.vocab_size)
    assert_outputs_close(fresh(inputs), encoder(inputs), atol=1e-6)


# Every check, by name; tests/official_encoders/models/test_encoder_contract.py runs each one on
# its own for every encoder class. Each takes (encoder, config, tmp_path).
CHECKS = {
    "call": lambda e, c, _: check_call(e, c),
    "config_round_trip": lambda e, c, _: check_config_round_trip(e, c),
    "padding_is_masked": lambda e, c, _: check_padding_is_masked(e, c),
    "dynamic_length_function": lambda e, c, _: check_dynamic_length_function(e, c),
    "jit_compile": lambda e, c, _: check_jit_compile(e, c),
    "training_and_gradients": lambda e, c, _: check_training_and_gradients(e, c),
    "mixed_float16": lambda e, c, _: check_mixed_precision(e, c, "mixed_float16"),
    "mixed_bfloat16": lambda e, c, _: check_mixed_precision(e, c, "mixed_bfloat16"),
    "keras_save_and_reload": check_keras_save_and_reload,
    "saved_model_round_trip": check_saved_model_round_trip,
    "tf_checkpoint_round_trip": check_tf_checkpoint_round_trip,
}
