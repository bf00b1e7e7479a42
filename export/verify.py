"""Reloads what an export wrote and compares it with the in-memory models.

Any failed check raises VerificationError; the caller then publishes nothing. The
figures (max abs diffs, variable counts, dropout and gradient checks) go into
MANIFEST.json and the CLI summary.
"""

import time

import numpy as np
import tensorflow as tf

from export import saved_model

FLOAT32_TOLERANCE = 1e-5
MIXED_TOLERANCE = 2e-2  # float16/bfloat16 compute; the SavedModel runs the same graph


class VerificationError(RuntimeError):
    """The reloaded artifact does not behave like the model it was exported from."""


def sample_inputs(vocab_size, type_vocab_size, batch=3, seq_length=11, num_predictions=3, seed=0):
    """Generated encoder inputs: random ids, ragged real lengths (padding), two segments."""
    rng = np.random.default_rng(seed)
    lengths = np.linspace(seq_length, max(2, seq_length // 3), batch).astype(int)
    mask = (np.arange(seq_length)[None, :] < lengths[:, None]).astype(np.int32)
    word_ids = rng.integers(1, vocab_size, size=(batch, seq_length)).astype(np.int32) * mask
    type_ids = np.zeros((batch, seq_length), np.int32)
    if type_vocab_size > 1:
        type_ids = ((np.arange(seq_length)[None, :] >= (lengths[:, None] // 2)) * mask).astype(np.int32)
    positions = np.stack([rng.choice(np.arange(1, max(2, n)), size=num_predictions) for n in lengths])
    return {
        "input_word_ids": tf.constant(word_ids),
        "input_mask": tf.constant(mask),
        "input_type_ids": tf.constant(type_ids),
        "masked_lm_positions": tf.constant(positions.astype(np.int32)),
    }


def _max_abs_diff(a, b):
    """The largest |a - b| over the (nested) outputs; 0 for empty ones (e.g. no entities found)."""
    diffs = [float(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64)), initial=0.0))
             for x, y in zip(tf.nest.flatten(a), tf.nest.flatten(b))]
    return max(diffs) if diffs else 0.0


def _pick(outputs, keys):
    return {k: tf.cast(outputs[k], tf.float32) if not isinstance(outputs[k], list)
            else [tf.cast(t, tf.float32) for t in outputs[k]] for k in keys}


def _encoder_only(inputs):
    return {k: inputs[k] for k in saved_model.INPUT_KEYS}


def _tf_keras_model(callable_or_handle, input_names):
    import tensorflow_hub as hub
    import tf_keras

    layer = hub.KerasLayer(callable_or_handle, trainable=True)
    inputs = {k: tf_keras.Input([None], dtype=tf.int32, name=k) for k in input_names}
    model = tf_keras.Model(inputs, layer(inputs))
    return model, layer


def verify_encoder(export_dir, result, *, with_heads=True, legacy_v1=False, tolerance=None,
                   seq_lengths=(11, 6), progress=None):
    """Checks the encoder SavedModel at `export_dir` against `result` (an ImportResult)."""
    import tensorflow_hub as hub

    started = time.perf_counter()

    def say(message):
        if progress:
            progress(f"{message} ({time.perf_counter() - started:.1f} s)")

    tolerance = tolerance or (FLOAT32_TOLERANCE if _compute_dtype(result.encoder) == "float32"
                              else MIXED_TOLERANCE)
    config = result.config
    figures = {"tolerance": tolerance, "max_abs_diff": {}, "output_scale": {}}
    problems = []
    say("verify: hub.load")
    loaded = hub.load(str(export_dir))
    head = getattr(result.model, "head_kind", None)
    heads = [head] if with_heads and head else []
    keras_models = {"root": result.encoder}
    for kind in heads:
        if not hasattr(loaded, kind):
            problems.append(f"the export has no .{kind} subobject")
        keras_models[kind] = result.model

    # The in-memory models run as graphs, like the SavedModel does: eager and graph
    # execution fuse ops differently (oneDNN), which alone moves outputs by ~1e-6
    # relative; the comparison should measure the export, not that.
    pooling = getattr(result, "sentence_pooling", None)
    reference = {part: _inference_graph(model, part, pooling) for part, model in keras_models.items()}
    sentence_keys = [saved_model.SENTENCE_OUTPUT] if pooling is not None else []
    _check_sentence_pooling(loaded, pooling, problems)
    for length in seq_lengths:
        inputs = sample_inputs(config.vocab_size, config.type_vocab_size, seq_length=length)
        for part, model in keras_models.items():
            if part != "root" and not hasattr(loaded, part):
                continue
            fn = loaded if part == "root" else getattr(loaded, part)
            part_inputs = _encoder_only(inputs) if part != "mlm" else dict(inputs)
            keys = ["pooled_output", "sequence_output", "encoder_outputs"] + sentence_keys
            if part != "root":
                keys.append(saved_model.HEAD_OUTPUTS[part])
            expected = _pick(reference[part](part_inputs), keys)
            got = _pick(fn(part_inputs, training=False), keys)
            diff = _max_abs_diff(expected, got)
            figures["max_abs_diff"][part] = max(diff, figures["max_abs_diff"].get(part, 0.0))
            scale = max(float(np.max(np.abs(np.asarray(t)))) for t in tf.nest.flatten(expected))
            figures["output_scale"][part] = max(scale, figures["output_scale"].get(part, 0.0))
            if part == "root" and legacy_v1:
                pooled, sequence = loaded([inputs["input_word_ids"], inputs["input_mask"],
                                           inputs["input_type_ids"]], training=False)
                diff = _max_abs_diff([expected["pooled_output"], expected["sequence_output"]],
                                     [pooled, sequence])
                figures["max_abs_diff"]["legacy_v1"] = max(diff, figures["max_abs_diff"].get("legacy_v1", 0.0))

    say("verify: hub.KerasLayer(trainable=True) in a tf_keras model")
    inputs = sample_inputs(config.vocab_size, config.type_vocab_size)
    expected_trainable = {"root": len(result.encoder.trainable_variables)}
    found_trainable = {"root": len(loaded.trainable_variables)}
    # The reloaded object itself, as `hub.KerasLayer(hub.load(handle), ...)`; loading the
    # directory a second time would only repeat the hub.load above.
    tf_model, layer = _tf_keras_model(loaded, saved_model.INPUT_KEYS)
    got = tf_model(_encoder_only(inputs), training=False)
    layer_keys = ["pooled_output", "sequence_output"] + sentence_keys
    expected = _pick(reference["root"](_encoder_only(inputs)), layer_keys)
    figures["max_abs_diff"]["keras_layer"] = _max_abs_diff(expected, _pick(got, layer_keys))
    found_trainable["keras_layer"] = len(layer.trainable_weights)
    for kind in heads:
        if hasattr(loaded, kind):
            expected_trainable[kind] = len(result.model.trainable_variables)
            found_trainable[kind] = len(getattr(loaded, kind).trainable_variables)
            names = saved_model.INPUT_KEYS + saved_model.HEAD_INPUTS[kind]
            head_model, head_layer = _tf_keras_model(getattr(loaded, kind), names)
            found_trainable[f"keras_layer_{kind}"] = len(head_layer.trainable_weights)
            expected_trainable[f"keras_layer_{kind}"] = expected_trainable[kind]
            key = saved_model.HEAD_OUTPUTS[kind]
            got = head_model({k: inputs[k] for k in names}, training=False)[key]
            want = reference[kind]({k: inputs[k] for k in names})[key]
            figures["max_abs_diff"][f"keras_layer_{kind}"] = _max_abs_diff(want, got)
    expected_trainable["keras_layer"] = expected_trainable["root"]
    figures["trainable_variables"] = {"expected": expected_trainable, "found": found_trainable}
    for key, n in expected_trainable.items():
        if found_trainable.get(key) != n:
            problems.append(f"{key}: {found_trainable.get(key)} trainable variables, expected {n}")

    say("verify: gradients (training=True)")
    figures["gradients"], train_outputs = _check_gradients(loaded, inputs, problems)
    say("verify: dropout")
    figures["dropout"] = _check_dropout(loaded, tf_model, inputs, train_outputs, config, problems)
    say("verify: done")

    # float32 rounding grows with the size of the values: outputs in the tens (a
    # fine-tuned BERT) can differ by ~1e-5 between two equally valid graphs. The bound
    # is the tolerance times the largest output magnitude, when that exceeds 1.
    for part, diff in figures["max_abs_diff"].items():
        compared = {"legacy_v1": "root", "keras_layer": "root"}.get(part, part.removeprefix("keras_layer_"))
        scale = max(1.0, figures["output_scale"].get(compared, 1.0))
        if not diff <= tolerance * scale:
            problems.append(f"{part}: max abs diff {diff:.3g} > {tolerance:g}"
                            + (f" x output scale {scale:.3g}" if scale > 1 else ""))
    if problems:
        raise VerificationError("Export verification failed, nothing was published: " + "; ".join(problems))
    return figures


def _inference_graph(model, part, sentence_pooling=None):
    """`model` at inference as one graph for any batch and length (traced once), with the
    sentence embedding computed from its sequence_output when `sentence_pooling` is given."""
    specs = saved_model.input_specs(saved_model.HEAD_INPUTS.get(part, ()))
    pooling = sentence_pooling.layer() if sentence_pooling is not None else None

    def infer(inputs):
        outputs = dict(model(inputs, training=False))
        if pooling is not None:
            outputs[saved_model.SENTENCE_OUTPUT] = pooling(outputs["sequence_output"], inputs["input_mask"])
        return outputs

    return tf.function(infer, input_signature=[specs])


def _check_sentence_pooling(loaded, pooling, problems):
    """The export's sentence_pooling attribute and serving_default outputs say what the source's pooling is."""
    want = pooling.to_dict() if pooling is not None else None
    found = saved_model.read_sentence_pooling(loaded)
    if found != want:
        problems.append(f"the export's sentence_pooling attribute is {found}, the source's pooling {want}")
    outputs = set(loaded.signatures["serving_default"].structured_outputs)
    if (saved_model.SENTENCE_OUTPUT in outputs) != (pooling is not None):
        problems.append(f"serving_default outputs {sorted(outputs)} do not match the source's pooling {want}")


def _compute_dtype(model):
    policy = getattr(model, "dtype_policy", None)
    return getattr(policy, "compute_dtype", "float32")


def _check_dropout(loaded, tf_model, inputs, train_outputs, config, problems):
    rate = max(getattr(config, "hidden_dropout", 0.0) or 0.0, getattr(config, "attention_dropout", 0.0) or 0.0)
    encoder_inputs = _encoder_only(inputs)
    eval_a = loaded(encoder_inputs, training=False)["sequence_output"]
    eval_b = loaded(encoder_inputs, training=False)["sequence_output"]
    train_a = train_outputs["sequence_output"]
    train_b = tf_model(encoder_inputs, training=True)["sequence_output"]
    out = {
        "rate": rate,
        "inference_deterministic": _max_abs_diff(eval_a, eval_b) == 0.0,
        "training_changes_output": _max_abs_diff(eval_a, train_a) > 0.0,
        "keras_layer_training_changes_output": _max_abs_diff(eval_a, train_b) > 0.0,
    }
    if not out["inference_deterministic"]:
        problems.append("training=False is not deterministic (dropout active at inference?)")
    if rate > 0 and not (out["training_changes_output"] and out["keras_layer_training_changes_output"]):
        problems.append(f"dropout rate {rate} but training=True gives the inference output")
    if rate == 0 and out["training_changes_output"]:
        problems.append("no dropout configured but training=True changes the output")
    return out


def _check_gradients(loaded, inputs, problems):
    """Every trainable variable gets a finite gradient through the reloaded training graph.

    A plain tape, as Keras fit uses. At BERT-base TensorFlow needs ~5 s to differentiate
    the reloaded graph this way but ~15 s under a persistent tape; persistent tapes take
    the same code path at every size, so the tests check them on every family with tiny
    configs instead. Returns the figures and the training outputs (the dropout check
    reuses them).
    """
    encoder_inputs = _encoder_only(inputs)
    with tf.GradientTape() as tape:
        outputs = loaded(encoder_inputs, training=True)
        loss = tf.reduce_sum(outputs["pooled_output"] ** 2) + tf.reduce_sum(outputs["sequence_output"] ** 2)
    grads = tape.gradient(loss, loaded.trainable_variables)
    with_gradient = sum(g is not None for g in grads)
    finite = all(bool(tf.reduce_all(tf.math.is_finite(tf.convert_to_tensor(g)))) for g in grads if g is not None)
    out = {"variables": len(grads), "with_gradient": with_gradient, "finite": finite}
    if with_gradient != len(grads):
        problems.append(f"only {with_gradient} of {len(grads)} trainable variables get a gradient")
    if not finite:
        problems.append("a gradient through the reloaded model is not finite")
    return out, outputs


def _python_reference(module):
    """The pure-Python WordPiece tokenizer for the module's vocabulary (None for SentencePiece)."""
    from preprocessors.full_tokenizer import FullTokenizer
    from preprocessors.wordpiece import BertWordpieceTokenizer

    tokenizer = module.tokenizer
    if isinstance(tokenizer, BertWordpieceTokenizer):
        return FullTokenizer(tokenizer.vocab_file, tokenizer.do_lower_case)
    return None


def verify_preprocessing(export_dir, module, sentences):
    """The reloaded preprocessor gives the in-memory preprocessor's outputs on `sentences`,
    and (WordPiece) the same token ids as the pure-Python reference tokenizer."""
    reloaded = tf.saved_model.load(str(export_dir))
    text = tf.constant(list(sentences))
    want = module(text)
    got = reloaded(text)
    mismatched = [k for k in want if not np.array_equal(np.asarray(want[k]), np.asarray(got[k]))]
    want_tokens = module.tokenize(text)
    got_tokens = reloaded.tokenize(text)
    if not np.array_equal(want_tokens.flat_values.numpy(), got_tokens.flat_values.numpy()):
        mismatched.append("tokenize")
    reference = _python_reference(module)
    python_mismatches = 0
    if reference is not None:  # the pure-Python tokenizer, token for token
        for sentence, ids in zip(sentences, got_tokens.to_list()):
            python_mismatches += reference.encode(sentence) != list(ids)
        if python_mismatches:
            mismatched.append(f"tokenize vs preprocessors.full_tokenizer on {python_mismatches} sentences")
    special = {k: int(v) for k, v in reloaded.tokenize.get_special_tokens_dict().items()}
    figures = {"sentences": len(sentences), "mismatched_outputs": mismatched,
               "python_reference": type(reference).__name__ if reference is not None else None,
               "seq_length": int(got["input_word_ids"].shape[1]), "special_tokens": special}
    if mismatched:
        raise VerificationError(
            f"Reloaded preprocessor differs from the in-memory one on {mismatched}; nothing was published.")
    return figures
