"""TF-Hub user patterns in Keras 2 on a tiny exported BERT and its preprocessor.

Each pattern is written once against a Keras 2 module `k` and run twice: with
`import tf_keras` in this process, and as `tf.keras` in a subprocess started with
TF_USE_LEGACY_KERAS=1 (which must be set before TensorFlow is imported).
"""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.official_encoders import tiny_saved_models as tsm

REPO_ROOT = pathlib.Path(__file__).parents[2]
SENTENCES = ["the quick brown fox", "a lazy dog sleeps", "hello world", "how do i reset my password",
             "the cat sleeps on the sofa", "a man is playing guitar on stage",
             "recipe needs two cups of flour", "fox jumps over the dog"]


def text_classifier_fits_and_reloads(k, encoder_dir, preprocessor_dir, save_dir):
    """hub.KerasLayer(preprocess), hub.KerasLayer(encoder, trainable=True), a Dense head; fit
    lowers the loss, the encoder weights change, model.save then reload predicts the same."""
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401  (registers the preprocessor's ops, as users must)

    text = k.Input(shape=(), dtype=tf.string)
    encoder = hub.KerasLayer(str(encoder_dir), trainable=True)
    pooled = encoder(hub.KerasLayer(str(preprocessor_dir))(text))["pooled_output"]
    model = k.Model(text, k.layers.Dense(2)(pooled))
    model.compile(k.optimizers.Adam(1e-2), k.losses.SparseCategoricalCrossentropy(from_logits=True))
    sentences = tf.constant(SENTENCES * 2)
    labels = tf.constant([1, 0, 1, 0, 0, 1, 0, 1] * 2)
    before = [v.numpy() for v in encoder.trainable_weights]
    loss_before = model.evaluate(sentences, labels, verbose=0)
    model.fit(sentences, labels, epochs=6, verbose=0)
    assert model.evaluate(sentences, labels, verbose=0) < loss_before
    assert any(np.abs(v.numpy() - b).max() > 0 for v, b in zip(encoder.trainable_weights, before))
    expected = model.predict(sentences[:4], verbose=0)
    model.save(str(save_dir))
    reloaded = k.models.load_model(str(save_dir), custom_objects={"KerasLayer": hub.KerasLayer})
    np.testing.assert_allclose(reloaded.predict(sentences[:4], verbose=0), expected, atol=1e-5)


def sentence_pairs_packed_in_dataset_map(k, encoder_dir, preprocessor_dir):
    """The preprocessor runs in Dataset.map(AUTOTUNE), tokenize then bert_pack_inputs at
    seq_length 24; the encoder stays in the model and fit lowers the loss."""
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401

    preprocessor = hub.load(str(preprocessor_dir))

    def pack(first, second, label):
        segments = [preprocessor.tokenize(first), preprocessor.tokenize(second)]
        return preprocessor.bert_pack_inputs(segments, seq_length=24), label

    labels = np.array([1, 0, 1, 0, 0, 1, 0, 1], "int32")
    data = (tf.data.Dataset.from_tensor_slices((SENTENCES, SENTENCES[::-1], labels)).batch(4)
            .map(pack, num_parallel_calls=tf.data.AUTOTUNE))
    first_batch, _ = next(iter(data))
    assert first_batch["input_word_ids"].shape == (4, 24)
    assert set(np.unique(first_batch["input_type_ids"].numpy())) == {0, 1}

    inputs = {n: k.Input((None,), dtype=tf.int32, name=n)
              for n in ("input_word_ids", "input_mask", "input_type_ids")}
    encoder = hub.KerasLayer(str(encoder_dir), trainable=True)
    model = k.Model(inputs, k.layers.Dense(2)(encoder(inputs)["pooled_output"]))
    model.compile(k.optimizers.Adam(1e-2), k.losses.SparseCategoricalCrossentropy(from_logits=True))
    loss_before = model.evaluate(data, verbose=0)
    model.fit(data, epochs=6, verbose=0)
    assert model.evaluate(data, verbose=0) < loss_before


def continued_mlm_training(k, encoder_dir, preprocessor_dir):
    """hub.KerasLayer(encoder.mlm, trainable=True) with the masking helper; the MLM loss goes
    down and the root encoder sees the updated weights."""
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401

    from preprocessors.masking import mask_for_mlm

    preprocessor = hub.load(str(preprocessor_dir))
    special = {n: int(v) for n, v in preprocessor.tokenize.get_special_tokens_dict().items()}
    packed = preprocessor(tf.constant(SENTENCES * 2))
    masked = mask_for_mlm(packed["input_word_ids"], packed["input_mask"], special,
                          max_predictions=4, seed=[1, 2], selection_rate=0.3)
    features = {"input_word_ids": masked["input_word_ids"], "input_mask": masked["input_mask"],
                "input_type_ids": packed["input_type_ids"],
                "masked_lm_positions": masked["masked_lm_positions"]}

    loaded = hub.load(str(encoder_dir))
    inputs = {n: k.Input((None,), dtype=tf.int32, name=n) for n in features}
    model = k.Model(inputs, hub.KerasLayer(loaded.mlm, trainable=True)(inputs)["mlm_logits"])
    model.compile(k.optimizers.Adam(1e-2), k.losses.SparseCategoricalCrossentropy(from_logits=True))
    targets, weights = masked["masked_lm_ids"], masked["masked_lm_weights"]
    root_inputs = {n: v for n, v in features.items() if n != "masked_lm_positions"}
    pooled_before = loaded(root_inputs, training=False)["pooled_output"].numpy()
    loss_before = model.evaluate(features, targets, sample_weight=weights, verbose=0)
    model.fit(features, targets, sample_weight=weights, epochs=10, verbose=0)
    assert model.evaluate(features, targets, sample_weight=weights, verbose=0) < 0.8 * loss_before
    pooled_after = loaded(root_inputs, training=False)["pooled_output"].numpy()
    assert np.abs(pooled_after - pooled_before).max() > 1e-4


def custom_loop_with_mixed_precision(k, encoder_dir, l2=0.01):
    """A custom loop with a persistent GradientTape under the mixed_float16 policy: the rest of
    the model computes in float16, the hub layer stays float32, and both the SavedModel's
    regularization loss and the head's are in model.losses and in the gradients."""
    import tensorflow_hub as hub

    k.mixed_precision.set_global_policy("mixed_float16")
    try:
        inputs = {n: k.Input((None,), dtype=tf.int32, name=n) for n in tsm.ENCODER_INPUT_NAMES}
        encoder = hub.KerasLayer(str(encoder_dir), trainable=True, dtype="float32",
                                 output_key="pooled_output")
        hidden = k.layers.Dense(16, activation="relu", kernel_regularizer=k.regularizers.l2(1e-3),
                                name="hidden")
        logits = k.layers.Dense(2, dtype="float32", name="logits")
        model = k.Model(inputs, logits(hidden(encoder(inputs))))
    finally:
        k.mixed_precision.set_global_policy("float32")
    assert encoder.compute_dtype == "float32" and encoder.output.dtype == tf.float32
    assert hidden.compute_dtype == "float16" and hidden.output.dtype == tf.float16
    assert len(model.losses) == 2  # the SavedModel's regularization_losses and the head's L2

    kernel = encoder.trainable_weights[1]
    assert "dense/kernel" in kernel.name, kernel.name
    x = tsm.random_encoder_inputs(32, 6, seed=1)
    y = (x["input_word_ids"][:, 0] >= tsm.VOCAB // 2).astype("int32")
    optimizer = k.mixed_precision.LossScaleOptimizer(k.optimizers.SGD(0.1))
    loss_fn = k.losses.SparseCategoricalCrossentropy(from_logits=True)
    head_vars = hidden.trainable_weights + logits.trainable_weights
    kernel_before = kernel.numpy().copy()
    losses = []
    for step in range(15):
        with tf.GradientTape(persistent=True) as tape:
            regularization = tf.add_n(model.losses)
            loss = loss_fn(y, model(x, training=True)) + regularization
            scaled = optimizer.get_scaled_loss(loss)
        encoder_grads = optimizer.get_unscaled_gradients(
            tape.gradient(scaled, encoder.trainable_weights))
        head_grads = optimizer.get_unscaled_gradients(tape.gradient(scaled, head_vars))
        if step == 0:
            expected = l2 * np.sum(kernel.numpy() ** 2) + 1e-3 * np.sum(hidden.kernel.numpy() ** 2)
            np.testing.assert_allclose(regularization.numpy(), expected, rtol=1e-5)
            np.testing.assert_allclose(tape.gradient(regularization, kernel).numpy(),
                                       2 * l2 * kernel.numpy(), rtol=1e-5)
        del tape
        assert all(g is not None for g in encoder_grads + head_grads)
        optimizer.apply_gradients(zip(encoder_grads + head_grads,
                                      encoder.trainable_weights + head_vars))
        losses.append(float(loss))
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    assert np.abs(kernel.numpy() - kernel_before).max() > 0
    assert all(v.dtype == tf.float32 for v in encoder.weights)


@pytest.fixture(scope="module")
def regularized_encoder(tmp_path_factory):
    return tsm.save_hand_built_encoder(tmp_path_factory.mktemp("sm") / "reg", dropout_rate=0.1)


def test_sentence_pairs_packed_in_dataset_map_at_a_custom_seq_length(tiny_bert_hub):
    import tf_keras

    sentence_pairs_packed_in_dataset_map(tf_keras, tiny_bert_hub["encoder"],
                                         tiny_bert_hub["preprocessor"])


def test_continued_mlm_training_through_the_mlm_subobject(tiny_bert_hub):
    import tf_keras

    continued_mlm_training(tf_keras, tiny_bert_hub["encoder"], tiny_bert_hub["preprocessor"])


def test_custom_loop_persistent_tape_mixed_float16_counts_regularization(regularized_encoder):
    import tf_keras

    custom_loop_with_mixed_precision(tf_keras, regularized_encoder)


def run_as_legacy_tf_keras(encoder_dir, preprocessor_dir, regularized_dir, save_dir):
    """Every pattern with `tf.keras`, in a process started with TF_USE_LEGACY_KERAS=1."""
    import tf_keras

    k = tf.keras
    assert k.Model is tf_keras.Model, k.Model
    text_classifier_fits_and_reloads(k, encoder_dir, preprocessor_dir, save_dir)
    sentence_pairs_packed_in_dataset_map(k, encoder_dir, preprocessor_dir)
    continued_mlm_training(k, encoder_dir, preprocessor_dir)
    custom_loop_with_mixed_precision(k, regularized_dir)
    print("LEGACY PATTERNS OK")


def test_every_pattern_with_tf_use_legacy_keras(tiny_bert_hub, regularized_encoder, tmp_path):
    args = [str(tiny_bert_hub["encoder"]), str(tiny_bert_hub["preprocessor"]),
            str(regularized_encoder), str(tmp_path / "classifier")]
    result = subprocess.run(
        [sys.executable, "-c",
         "import sys; from tests.export import test_tf_keras_patterns as t; "
         "t.run_as_legacy_tf_keras(*sys.argv[1:])", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT), TF_USE_LEGACY_KERAS="1"))
    assert result.returncode == 0, result.stderr[-4000:]
    assert "LEGACY PATTERNS OK" in result.stdout
