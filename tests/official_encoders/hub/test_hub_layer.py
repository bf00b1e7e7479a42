"""HubLayer in Keras 3 models, over hand-built and tf_keras-saved Reusable SavedModels."""

import pathlib
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from official_encoders.hub.hub_layer import HubLayer
from tests.official_encoders import tiny_saved_models as tsm


@pytest.fixture(scope="module")
def encoder_path(tmp_path_factory):
    return tsm.save_hand_built_encoder(tmp_path_factory.mktemp("sm") / "encoder")


@pytest.fixture(scope="module")
def calm_encoder_path(tmp_path_factory):
    """Light dropout, so that a short fit measurably lowers the loss."""
    return tsm.save_hand_built_encoder(tmp_path_factory.mktemp("sm") / "calm", dropout_rate=0.1)


@pytest.fixture(scope="module")
def tf_keras_path(tmp_path_factory):
    return tsm.save_tf_keras_model(tmp_path_factory.mktemp("sm") / "tf_keras")


def _encoder_inputs():
    return {n: keras.Input(shape=(None,), dtype="int32", name=n) for n in tsm.ENCODER_INPUT_NAMES}


def _labelled_batch(n=32, seed=1):
    x = tsm.random_encoder_inputs(n, 6, seed=seed)
    y = (x["input_word_ids"][:, 0] >= tsm.VOCAB // 2).astype("int32")
    return x, y


def _classifier(layer):
    inputs = _encoder_inputs()
    logits = keras.layers.Dense(2, name="head")(layer(inputs)["pooled_output"])
    model = keras.Model(inputs, logits)
    model.compile(keras.optimizers.Adam(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _values(variables):
    return [np.array(v) for v in variables]


def test_wraps_the_saved_models_own_variables(encoder_path):
    layer = HubLayer(encoder_path, trainable=True)
    obj = layer.resolved_object
    assert [v.name for v in layer.trainable_weights] == ["word_embeddings", "dense_kernel"]
    assert [v.name for v in layer.non_trainable_weights] == ["frozen_scale"]
    # Assigning through the Keras variable changes what the restored function reads.
    layer.trainable_weights[1].assign(np.zeros([tsm.HIDDEN, tsm.HIDDEN], "float32"))
    np.testing.assert_array_equal(obj.kernel.numpy(), 0.0)
    out = layer(tsm.random_encoder_inputs(), training=False)
    np.testing.assert_array_equal(np.array(out["pooled_output"]), 0.0)


def test_functional_fit_lowers_loss_trains_only_publisher_trainables(calm_encoder_path):
    layer = HubLayer(calm_encoder_path, trainable=True)
    model = _classifier(layer)
    x, y = _labelled_batch()
    obj = layer.resolved_object
    before = _values([obj.word_embeddings, obj.kernel, obj.frozen_scale])
    loss_before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    loss_after = model.evaluate(x, y, verbose=0)
    after = _values([obj.word_embeddings, obj.kernel, obj.frozen_scale])
    assert loss_after < 0.8 * loss_before
    assert np.abs(after[0] - before[0]).max() > 1e-3
    assert np.abs(after[1] - before[1]).max() > 1e-3
    np.testing.assert_array_equal(after[2], before[2])


def test_not_trainable_layer_freezes_everything(encoder_path):
    layer = HubLayer(encoder_path, trainable=False)
    assert layer.trainable_weights == []
    model = _classifier(layer)
    x, y = _labelled_batch()
    before = _values(layer.weights)
    model.fit(x, y, epochs=2, verbose=0)
    for b, a in zip(before, _values(layer.weights)):
        np.testing.assert_array_equal(a, b)
    # Turning it on later brings back exactly the publisher's trainable subset.
    layer.trainable = True
    assert [v.name for v in layer.trainable_weights] == ["word_embeddings", "dense_kernel"]


def test_dropout_follows_training_only_when_trainable(encoder_path):
    x = tsm.random_encoder_inputs()
    trainable = HubLayer(encoder_path, trainable=True)
    infer_1 = np.array(trainable(x, training=False)["sequence_output"])
    infer_2 = np.array(trainable(x, training=False)["sequence_output"])
    train = np.array(trainable(x, training=True)["sequence_output"])
    np.testing.assert_array_equal(infer_1, infer_2)
    assert np.mean(train == 0.0) > 0.2  # rate 0.5 dropout zeroes about half
    assert np.mean(infer_1 == 0.0) < 0.05
    frozen = HubLayer(encoder_path, trainable=False)
    np.testing.assert_allclose(
        np.array(frozen(x, training=True)["sequence_output"]), infer_1, atol=1e-6)


def test_regularization_losses_are_counted_while_trainable(encoder_path):
    x, y = _labelled_batch()
    layer = HubLayer(encoder_path, trainable=True)
    layer(x)
    expected = 0.01 * np.sum(np.square(layer.resolved_object.kernel.numpy()))
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-5)
    # The compiled loss includes it: same weights, frozen vs trainable layer.
    with_reg = _classifier(layer)
    without_reg = _classifier(HubLayer(encoder_path, trainable=False))
    without_reg.get_layer("head").set_weights(with_reg.get_layer("head").get_weights())
    difference = with_reg.evaluate(x, y, verbose=0) - without_reg.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(difference, expected, rtol=1e-4)
    frozen = HubLayer(encoder_path, trainable=False)
    frozen(x)
    assert frozen.losses == []


def test_custom_loop_with_a_persistent_tape_counts_regularization(encoder_path):
    layer = HubLayer(encoder_path, trainable=True, output_key="pooled_output")
    head = keras.layers.Dense(2)
    optimizer = keras.optimizers.SGD(0.1)
    x, y = _labelled_batch(8)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape(persistent=True) as tape:
        task_loss = loss_fn(y, head(layer(x, training=True)))
        regularization = tf.add_n(layer.losses)
        loss = task_loss + regularization
    layer_grads = tape.gradient(loss, layer.trainable_weights)
    head_grads = tape.gradient(loss, head.trainable_weights)  # a second call: persistent tape
    reg_grads = tape.gradient(regularization, layer.trainable_weights)
    del tape
    assert all(g is not None for g in layer_grads + head_grads)
    kernel = layer.resolved_object.kernel
    np.testing.assert_allclose(reg_grads[1].numpy(), 2 * 0.01 * kernel.numpy(), rtol=1e-5)
    before = kernel.numpy().copy()
    optimizer.apply(layer_grads, layer.trainable_weights)
    np.testing.assert_allclose(kernel.numpy(), before - 0.1 * layer_grads[1].numpy(), rtol=1e-5,
                               atol=1e-7)


def test_sequential_over_a_tf_keras_saved_model(tf_keras_path):
    layer = HubLayer(tf_keras_path, trainable=True)
    assert len(layer.trainable_weights) == 3
    model = keras.Sequential([keras.Input((None,), dtype="int32"), layer, keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).integers(0, tsm.VOCAB, (32, 5)).astype("int32")
    y = (x[:, 0] >= tsm.VOCAB // 2).astype("int32")
    before = _values(layer.trainable_weights)
    loss_before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < loss_before
    assert all(np.abs(a - b).max() > 0 for a, b in zip(_values(layer.trainable_weights), before))
    # tf_keras' Dropout and kernel_regularizer come through the SavedModel contract.
    assert not np.allclose(layer(x, training=True), layer(x, training=False))
    assert len(layer.losses) == 1 and float(layer.losses[0]) > 0


def test_subclassed_model(calm_encoder_path):
    class Classifier(keras.Model):
        def __init__(self):
            super().__init__()
            self.encoder = HubLayer(calm_encoder_path, trainable=True, output_key="pooled_output")
            self.head = keras.layers.Dense(2)

        def call(self, inputs, training=None):
            return self.head(self.encoder(inputs, training=training))

    model = Classifier()
    model.compile(keras.optimizers.Adam(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = _labelled_batch()
    model(x)
    assert len(model.trainable_weights) == 4  # two encoder variables, kernel and bias
    before = model.encoder.resolved_object.kernel.numpy().copy()
    loss_before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < loss_before
    assert np.abs(model.encoder.resolved_object.kernel.numpy() - before).max() > 1e-3


def test_mlm_subobject_trains_the_shared_encoder_variables(encoder_path):
    mlm = HubLayer(encoder_path, trainable=True, subobject="mlm", output_key="mlm_logits")
    assert [v.name for v in mlm.trainable_weights] == [
        "word_embeddings", "dense_kernel", "mlm_output_bias"]
    x = tsm.random_encoder_inputs(8, 6)
    x["masked_lm_positions"] = np.tile(np.array([[1, 3]], "int32"), (8, 1))
    logits = mlm(x)
    assert tuple(logits.shape) == (8, 2, tsm.VOCAB)
    root = mlm._hub_root
    assert root.word_embeddings is mlm.resolved_object.variables[0]
    before = root.word_embeddings.numpy().copy()
    inputs = dict(_encoder_inputs(), masked_lm_positions=keras.Input(
        (None,), dtype="int32", name="masked_lm_positions"))
    model = keras.Model(inputs, mlm(inputs))
    model.compile(keras.optimizers.Adam(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, x["input_word_ids"][:, 1:4:2], epochs=2, verbose=0)
    assert np.abs(root.word_embeddings.numpy() - before).max() > 1e-3


def test_loaded_object_as_handle(encoder_path):
    loaded = tf.saved_model.load(encoder_path)
    layer = HubLayer(loaded.mlm, trainable=True)
    assert len(layer.trainable_weights) == 3
    with pytest.raises(NotImplementedError, match="string handle"):
        layer.get_config()


def test_unknown_subobject_names_what_exists(encoder_path):
    with pytest.raises(ValueError, match="no subobject 'rtd'.*mlm"):
        HubLayer(encoder_path, subobject="rtd")


def test_signature_with_output_key_or_dict(encoder_path):
    x = tsm.random_encoder_inputs()
    by_call = HubLayer(encoder_path)(x)
    pooled = HubLayer(encoder_path, signature="serving_default", output_key="pooled_output")(x)
    np.testing.assert_allclose(np.array(pooled), np.array(by_call["pooled_output"]), atol=1e-6)
    both = HubLayer(encoder_path, signature="serving_default", signature_outputs_as_dict=True)(x)
    assert sorted(both) == ["pooled_output", "sequence_output"]
    with pytest.raises(ValueError, match="exactly one of output_key"):
        HubLayer(encoder_path, signature="serving_default")
    with pytest.raises(ValueError, match="trainable=True cannot be used with signature"):
        HubLayer(encoder_path, signature="serving_default", output_key="pooled_output",
                 trainable=True)
    with pytest.raises(ValueError, match=r"unknown signature 'nope'.*serving_default"):
        HubLayer(encoder_path, signature="nope", output_key="pooled_output")
    with pytest.raises(ValueError, match="not among the outputs.*pooled_output"):
        HubLayer(encoder_path, output_key="nope")(x)


def test_get_config_returns_every_argument(encoder_path):
    layer = HubLayer(encoder_path, trainable=True, output_key="mlm_logits",
                     arguments={}, subobject="mlm", name="mlm_layer")
    config = layer.get_config()
    for key, value in dict(handle=encoder_path, trainable=True, signature=None,
                           output_key="mlm_logits", signature_outputs_as_dict=None,
                           arguments={}, subobject="mlm", name="mlm_layer").items():
        assert config[key] == value
    clone = HubLayer.from_config(config)
    assert [v.name for v in clone.weights] == [v.name for v in layer.weights]


def test_keras_file_round_trip_restores_fine_tuned_weights(calm_encoder_path, tmp_path):
    model = _classifier(HubLayer(calm_encoder_path, trainable=True))
    x, y = _labelled_batch()
    model.fit(x, y, epochs=3, verbose=0)
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras", safe_mode=False)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), expected, atol=1e-5)
    # The handle alone gives the original weights: the .keras file carried the tuned ones.
    fresh = HubLayer(calm_encoder_path)(x)["pooled_output"]
    tuned = reloaded.layers[3](x)["pooled_output"]
    assert np.abs(np.array(fresh) - np.array(tuned)).max() > 1e-4
    with pytest.raises(ValueError, match="a SavedModel is a program"):
        keras.models.load_model(tmp_path / "model.keras")


def test_model_export_then_reload_and_run(encoder_path, tmp_path):
    model = _classifier(HubLayer(encoder_path, trainable=True))
    x, _ = _labelled_batch(4)
    expected = model.predict(x, verbose=0)
    model.export(str(tmp_path / "exported"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "exported"))
    np.testing.assert_allclose(reloaded.serve(x).numpy(), expected, atol=1e-5)


def test_model_export_keeps_tables_and_assets(tmp_path):
    source = tsm.save_string_lookup_module(tmp_path / "lookup")
    strings = keras.Input((), dtype="string")
    model = keras.Model(strings, keras.layers.Dense(1)(HubLayer(source)(strings)))
    words = tf.constant(["hello", "world", "unseen"])
    expected = model(words).numpy()
    model.export(str(tmp_path / "exported"), verbose=False)
    shutil.rmtree(source)
    reloaded = tf.saved_model.load(str(tmp_path / "exported"))
    np.testing.assert_allclose(reloaded.serve(words).numpy(), expected, atol=1e-6)


def test_mixed_precision_rest_of_model(calm_encoder_path):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = HubLayer(calm_encoder_path, trainable=True)
        model = _classifier(layer)
        assert layer.compute_dtype == "float32"
        assert model.get_layer("head").compute_dtype == "float16"
        x, y = _labelled_batch()
        before = layer.resolved_object.kernel.numpy().copy()
        model.fit(x, y, epochs=2, verbose=0)
        assert np.abs(layer.resolved_object.kernel.numpy() - before).max() > 0
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_http_handle_is_resolved_verified_and_kept_in_the_config(tmp_path, monkeypatch):
    from export import serve
    from official_encoders.hub import resolver
    from tests.export import tiny_hub_tree

    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    root = tiny_hub_tree.make_tiny_hub(tmp_path / "hub", tmp_path / "work", seeds=(3,))
    with serve.running_in_thread(root) as server:
        handle = f"{server.url}/tiny/encoder/1"
        layer = HubLayer(handle, trainable=True, output_key="pooled_output")
        assert layer.get_config()["handle"] == handle
        x = tsm.random_encoder_inputs()
        local = HubLayer(str(root / "tiny" / "encoder" / "1"), output_key="pooled_output")
        np.testing.assert_array_equal(np.array(layer(x)), np.array(local(x)))
        # A damaged cache entry is not loaded: it is fetched again first.
        entry = pathlib.Path(resolver.cache_entry(handle))
        (entry / "variables" / "variables.index").write_bytes(b"garbage")
        again = HubLayer(handle, output_key="pooled_output")
        np.testing.assert_array_equal(np.array(again(x)), np.array(local(x)))
        assert server.counts["tarballs"] == 2


# ---------------------------------------------------------------- a real exported encoder


def _word_inputs(batch=4, seq=8, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 100, size=(batch, seq)).astype("int32")
    ids[:, 0], ids[:, -1] = 2, 3
    return {"input_word_ids": ids, "input_mask": np.ones_like(ids),
            "input_type_ids": np.zeros_like(ids)}


def test_real_export_matches_its_source_and_honours_training(tiny_bert_hub):
    source = tiny_bert_hub["result"]
    layer = HubLayer(tiny_bert_hub["encoder"], trainable=True)
    assert len(layer.trainable_weights) == len(source.encoder.trainable_weights)
    x = _word_inputs()
    ours = layer(x, training=False)
    np.testing.assert_allclose(np.array(ours["sequence_output"]),
                               np.array(source.encoder(x)["sequence_output"]), atol=1e-5)
    assert len(ours["encoder_outputs"]) == 2
    # BERT's dropout: training=True differs, training=False is deterministic.
    assert not np.allclose(np.array(layer(x, training=True)["pooled_output"]),
                           np.array(ours["pooled_output"]))


def test_real_export_text_classifier_fits_and_exports_text_in(tiny_bert_hub, tmp_path):
    """Preprocessor and encoder as HubLayers in one Keras 3 model, fit, then model.export()."""
    text = keras.Input(shape=(), dtype="string", name="text")
    encoder_inputs = HubLayer(tiny_bert_hub["preprocessor"], name="preprocess")(text)
    encoder = HubLayer(tiny_bert_hub["encoder"], trainable=True, output_key="pooled_output")
    logits = keras.layers.Dense(2)(encoder(encoder_inputs))
    model = keras.Model(text, logits)
    model.compile(keras.optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    sentences = np.array(["the quick brown fox", "a lazy dog sleeps", "hello world",
                          "how do i reset my password", "the cat sleeps on the sofa",
                          "a man is playing guitar on stage", "recipe needs two cups of flour",
                          "fox jumps over the dog"] * 2)
    labels = np.array([1, 0, 1, 0, 0, 1, 0, 1] * 2, "int32")
    data = tf.data.Dataset.from_tensor_slices((sentences, labels)).batch(8)
    before = [np.array(v) for v in encoder.trainable_weights]
    loss_before = model.evaluate(data, verbose=0)
    model.fit(data, epochs=8, verbose=0)
    assert model.evaluate(data, verbose=0) < loss_before
    assert sum(np.abs(np.array(v) - b).max() > 0
               for v, b in zip(encoder.trainable_weights, before)) > len(before) // 2
    expected = model.predict(tf.constant(sentences[:3]), verbose=0)
    model.export(str(tmp_path / "text_classifier"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "text_classifier"))
    np.testing.assert_allclose(reloaded.serve(tf.constant(sentences[:3])).numpy(), expected,
                               atol=1e-5)


def test_real_export_mlm_subobject_updates_the_root_encoder(tiny_bert_hub):
    mlm = HubLayer(tiny_bert_hub["encoder"], trainable=True, subobject="mlm",
                   output_key="mlm_logits")
    x = _word_inputs(8)
    x["masked_lm_positions"] = np.tile(np.array([[1, 4]], "int32"), (8, 1))
    inputs = {k: keras.Input((None,), dtype="int32", name=k) for k in x}
    model = keras.Model(inputs, mlm(inputs))
    model.compile(keras.optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    targets = x["input_word_ids"][:, [1, 4]]
    root = mlm._hub_root
    pooled_before = root(x_without_positions := {k: v for k, v in x.items()
                                                 if k != "masked_lm_positions"})["pooled_output"]
    loss_before = model.evaluate(x, targets, verbose=0)
    model.fit(x, targets, epochs=10, verbose=0)
    assert model.evaluate(x, targets, verbose=0) < loss_before
    pooled_after = root(x_without_positions)["pooled_output"]
    assert np.abs(np.array(pooled_after) - np.array(pooled_before)).max() > 1e-4
