"""Reloads a task export and compares it with the in-memory task model and serving module.

Checked before anything is published (VerificationError otherwise): the root's logits,
`.encoder`'s outputs and the text-in `serving_default` outputs after `hub.load`, the
logits through `hub.KerasLayer(trainable=True)` in a tf_keras model and its trainable
variable count, and a finite gradient through the reloaded training graph for every
variable that gets one in memory (a tagger never reads the pooler).
"""

import numpy as np
import tensorflow as tf

from export import task_export
from export.verify import FLOAT32_TOLERANCE, VerificationError, _max_abs_diff, sample_inputs
from preprocessors.packing import INPUT_KEYS

_LONG = " ".join(["The quick brown fox jumps over the lazy dog, Straße und naïve café."] * 60)
SAMPLE_TEXTS = ("Hello, world! Tokenizers split punctuation.", "", "東京は日本の首都です。",
                "Unbelievably, the naïve café owner re-opened at 9:30am.", _LONG)


def sample_serving_inputs(task, text_pairs=False):
    """Raw-string inputs for the serving signature of `task`: empty, non-ASCII and over-long texts."""
    texts = tf.constant(SAMPLE_TEXTS)
    if task == "multiple_choice":
        choices = [[t, "yes", ""] for t in reversed(SAMPLE_TEXTS)]
        return {"prompt": texts, "choices": tf.constant(choices)}
    if text_pairs:
        return {"text": texts, "text_pair": tf.constant(SAMPLE_TEXTS[::-1])}
    return {"text": texts}


def _encoder_inputs(config, task):
    """Sample encoder inputs for the root: [3, 11], or [3, 2, 11] for multiple choice."""
    inputs = sample_inputs(config.vocab_size, config.type_vocab_size,
                           batch=6 if task == "multiple_choice" else 3)
    inputs = {k: inputs[k] for k in INPUT_KEYS}
    if task == "multiple_choice":
        inputs = {k: tf.reshape(v, [3, 2, -1]) for k, v in inputs.items()}
    return inputs


def _compare_serving(want, got):
    """Max abs diff of the float outputs; names of the outputs whose strings or ints differ."""
    float_diffs, unequal = {}, []
    for key, value in want.items():
        value, other = np.asarray(value), np.asarray(got[key])
        if value.dtype.kind == "f":
            float_diffs[key] = _max_abs_diff(value, other) if value.shape == other.shape else float("inf")
        elif value.shape != other.shape or not np.array_equal(value, other):
            unequal.append(key)
    return float_diffs, unequal


def verify_task(export_dir, root, task_model, task, text_pairs=False, tolerance=FLOAT32_TOLERANCE):
    """Checks the task export at `export_dir` against `root` (build_task_module) and `task_model`."""
    import tensorflow_hub as hub
    import tf_keras

    problems = []
    loaded = hub.load(str(export_dir))
    inputs = _encoder_inputs(task_model.encoder.config, task)
    rank = task_export.input_rank(task)
    reference = tf.function(lambda x: task_model(x, training=False))
    want = reference(inputs)["logits"]
    figures = {"tolerance": tolerance, "max_abs_diff": {}}
    figures["max_abs_diff"]["root"] = _max_abs_diff(want, loaded(inputs, training=False)["logits"])
    encoder_inputs = _encoder_inputs(task_model.encoder.config, "sequence_classification")
    encoder_want = tf.function(lambda x: task_model.encoder(x, training=False))(encoder_inputs)
    encoder_got = loaded.encoder(encoder_inputs, training=False)
    figures["max_abs_diff"]["encoder"] = _max_abs_diff(
        [encoder_want[k] for k in ("pooled_output", "sequence_output")],
        [encoder_got[k] for k in ("pooled_output", "sequence_output")])

    samples = sample_serving_inputs(task, text_pairs)
    serving_want = root.serving(**samples)
    serving_got = loaded.signatures["serving_default"](**samples)
    diffs, unequal = _compare_serving(serving_want, serving_got)
    figures["max_abs_diff"].update({f"serving_{k}": d for k, d in diffs.items()})
    figures["serving_outputs"] = sorted(serving_got)
    if sorted(serving_got) != sorted(serving_want):
        problems.append(f"serving_default outputs {sorted(serving_got)}, expected {sorted(serving_want)}")
    if unequal:
        problems.append(f"serving_default outputs {unequal} differ from the in-memory serving module")

    keras_inputs = {k: tf_keras.Input([None] * (rank - 1), dtype=tf.int32, name=k) for k in INPUT_KEYS}
    layer = hub.KerasLayer(loaded, trainable=True)
    tf_model = tf_keras.Model(keras_inputs, layer(keras_inputs))
    figures["max_abs_diff"]["keras_layer"] = _max_abs_diff(want, tf_model(inputs, training=False)["logits"])
    expected_trainable = len(task_model.trainable_variables)
    figures["trainable_variables"] = {"expected": expected_trainable, "found": len(layer.trainable_weights)}
    if len(layer.trainable_weights) != expected_trainable:
        problems.append(f"hub.KerasLayer has {len(layer.trainable_weights)} trainable variables, "
                        f"expected {expected_trainable}")
    figures["gradients"] = _check_gradients(loaded, task_model, inputs, problems)

    scale = max(1.0, float(np.max(np.abs(np.asarray(want)))))
    for part, diff in figures["max_abs_diff"].items():
        if not diff <= tolerance * scale:
            problems.append(f"{part}: max abs diff {diff:.3g} > {tolerance:g} x output scale {scale:.3g}")
    if problems:
        raise VerificationError("Task export verification failed, nothing was published: " + "; ".join(problems))
    return figures


def _check_gradients(loaded, task_model, inputs, problems):
    """The reloaded training graph gives a finite gradient to each variable the Keras model trains."""
    def gradients(call, variables):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(call(inputs, training=True)["logits"] ** 2)
        return tape.gradient(loss, variables)

    want = gradients(task_model, task_model.trainable_variables)
    got = gradients(loaded, loaded.trainable_variables)
    expected = sum(g is not None for g in want)
    found = sum(g is not None for g in got)
    finite = all(bool(tf.reduce_all(tf.math.is_finite(tf.convert_to_tensor(g)))) for g in got if g is not None)
    if found != expected or [g is None for g in want] != [g is None for g in got]:
        problems.append(f"{found} reloaded variables get a gradient, {expected} in the Keras model")
    if not finite:
        problems.append("a gradient through the reloaded task model is not finite")
    return {"variables": len(got), "with_gradient": found, "finite": finite}
