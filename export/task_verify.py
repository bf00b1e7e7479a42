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


def check_reusable_root(loaded, task_model, inputs, output_keys, figures, problems, input_rank=2):
    """The Reusable form of a reloaded task export against the in-memory task model.

    Compares the root's `output_keys` and the same through `hub.KerasLayer(trainable=True)`,
    `.encoder`'s outputs (and that it holds the root's variables, not copies), the trainable
    variable count, and the gradients (see _check_gradients). Fills `figures`, appends to
    `problems`, and returns the in-memory outputs (their scale sets the tolerance).
    """
    import tensorflow_hub as hub
    import tf_keras

    reference = tf.function(lambda x: task_model(x, training=False))(inputs)
    want = [reference[k] for k in output_keys]
    figures["max_abs_diff"]["root"] = _max_abs_diff(want, [loaded(inputs, training=False)[k] for k in output_keys])
    encoder_inputs = _encoder_inputs(task_model.encoder.config, "sequence_classification")
    encoder_want = tf.function(lambda x: task_model.encoder(x, training=False))(encoder_inputs)
    encoder_got = loaded.encoder(encoder_inputs, training=False)
    figures["max_abs_diff"]["encoder"] = _max_abs_diff(
        [encoder_want[k] for k in ("pooled_output", "sequence_output")],
        [encoder_got[k] for k in ("pooled_output", "sequence_output")])
    root_ids = {id(v) for v in loaded.variables}
    figures["encoder_shares_variables"] = all(id(v) in root_ids for v in loaded.encoder.variables)
    if not figures["encoder_shares_variables"]:
        problems.append(".encoder has variables of its own instead of the root's")

    keras_inputs = {k: tf_keras.Input([None] * (input_rank - 1), dtype=tf.int32, name=k) for k in INPUT_KEYS}
    layer = hub.KerasLayer(loaded, trainable=True)
    tf_model = tf_keras.Model(keras_inputs, layer(keras_inputs))
    keras_outputs = tf_model(inputs, training=False)
    figures["max_abs_diff"]["keras_layer"] = _max_abs_diff(want, [keras_outputs[k] for k in output_keys])
    expected_trainable = len(task_model.trainable_variables)
    figures["trainable_variables"] = {"expected": expected_trainable, "found": len(layer.trainable_weights)}
    if len(layer.trainable_weights) != expected_trainable:
        problems.append(f"hub.KerasLayer has {len(layer.trainable_weights)} trainable variables, "
                        f"expected {expected_trainable}")
    figures["gradients"] = _check_gradients(loaded, task_model, inputs, output_keys, problems)
    return want


def verify_task(export_dir, root, task_model, task, text_pairs=False, tolerance=FLOAT32_TOLERANCE):
    """Checks the task export at `export_dir` against `root` (build_task_module) and `task_model`."""
    import tensorflow_hub as hub

    problems = []
    loaded = hub.load(str(export_dir))
    inputs = _encoder_inputs(task_model.encoder.config, task)
    figures = {"tolerance": tolerance, "max_abs_diff": {}}
    want = check_reusable_root(loaded, task_model, inputs, ("logits",), figures, problems,
                               input_rank=task_export.input_rank(task))

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

    return _judged(figures, problems, want, tolerance, "Task export verification")



def _judged(figures, problems, reference, tolerance, what):
    """Adds a problem for every `figures["max_abs_diff"]` part over `tolerance` times the output
    scale of `reference` (at least 1), then raises VerificationError if there is any problem."""
    scale = max(1.0, float(np.max(np.abs(np.asarray(reference)))))
    for part, diff in figures["max_abs_diff"].items():
        if not diff <= tolerance * scale:
            problems.append(f"{part}: max abs diff {diff:.3g} > {tolerance:g} x output scale {scale:.3g}")
    if problems:
        raise VerificationError(f"{what} failed, nothing was published: " + "; ".join(problems))
    return figures

def _check_gradients(loaded, task_model, inputs, output_keys, problems):
    """The reloaded training graph gives a finite gradient to exactly the variables that get one in
    memory, and in memory only the pooler may go without (a tagger or span model never reads it)."""
    def gradients(call, variables):
        with tf.GradientTape() as tape:
            outputs = call(inputs, training=True)
            loss = tf.add_n([tf.reduce_sum(outputs[k] ** 2) for k in output_keys])
        return tape.gradient(loss, variables)

    want = gradients(task_model, task_model.trainable_variables)
    got = gradients(loaded, loaded.trainable_variables)
    expected = sum(g is not None for g in want)
    found = sum(g is not None for g in got)
    finite = all(bool(tf.reduce_all(tf.math.is_finite(tf.convert_to_tensor(g)))) for g in got if g is not None)
    if found != expected or [g is None for g in want] != [g is None for g in got]:
        problems.append(f"{found} reloaded variables get a gradient, {expected} in the Keras model")
    unreached = [v.path for v, g in zip(task_model.trainable_variables, want)
                 if g is None and not v.path.startswith("pooler")]
    if unreached:
        problems.append(f"no gradient reaches {unreached}")
    if not finite:
        problems.append("a gradient through the reloaded task model is not finite")
    return {"variables": len(got), "with_gradient": found, "finite": finite}


def verify_question_answering(export_dir, module, task_model, questions, contexts, tolerance=FLOAT32_TOLERANCE):
    """The reloaded QA export answers like the in-memory server and keeps the Reusable form.

    Checks serving_default against `module.answer` on (questions, contexts) (answers and
    offsets equal, scores within `tolerance`, `context[start:end] == answer`), then the
    Reusable root as every task export is checked (check_reusable_root).
    """
    import tensorflow_hub as hub

    problems, figures = [], {"pairs": len(questions), "max_abs_diff": {}}
    loaded = hub.load(str(export_dir))
    question, context = tf.constant(list(questions)), tf.constant(list(contexts))
    want = module.answer(question, context)
    got = loaded.signatures["serving_default"](question=question, context=context)
    for key in ("answer", "start", "end"):
        if not np.array_equal(want[key].numpy(), got[key].numpy()):
            problems.append(f"serving_default {key} differs from the in-memory server")
    figures["max_abs_diff"]["score"] = _max_abs_diff(want["score"], got["score"])
    for text, answer, start, end in zip(contexts, got["answer"].numpy(), got["start"].numpy(), got["end"].numpy()):
        if text[start:end] != answer.decode("utf-8"):
            problems.append(f"answer {answer!r} is not context[{start}:{end}]")
    figures["answers"] = [a.decode("utf-8") for a in got["answer"].numpy()]
    inputs = _encoder_inputs(task_model.encoder.config, "question_answering")
    start_logits, _ = check_reusable_root(loaded, task_model, inputs, ("start_logits", "end_logits"), figures,
                                          problems)
    return _judged(figures, problems, start_logits, tolerance, "Export verification")
