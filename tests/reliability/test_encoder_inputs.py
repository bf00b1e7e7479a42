"""Issue 6, encoder bad input: every bad input gets an error naming the input and its limit, eager and graph.

Each case runs on all three families (BERT, ALBERT, ELECTRA) and in two modes:
eager, and a tf.function traced with dynamic [None, None] shapes (so the
checks must live in the graph, not in Python).
"""

import numpy as np
import pytest
import tensorflow as tf

from official_encoders import build_encoder
from tests.common.tiny_configs import tiny_config

FAMILIES = ("bert", "albert", "electra")
VOCAB, TYPE_VOCAB, MAX_POSITIONS = 100, 2, 24  # tiny_config's limits
KEYS = ("input_word_ids", "input_mask", "input_type_ids")
DYNAMIC = {k: tf.TensorSpec([None, None], tf.int32) for k in KEYS}
DYNAMIC_64 = {k: tf.TensorSpec([None, None], tf.int64) for k in KEYS}


class Encoders(tuple):
    """(checked, unchecked) encoders of one family with the same weights, plus their graphs."""

    _graphs = None

    def graph(self, which, spec=DYNAMIC):
        """`which` (0 checked, 1 unchecked) as a tf.function over dynamic shapes, traced once per spec."""
        self._graphs = self._graphs or {}
        key = (which, tuple(s.dtype.name for s in spec.values()))
        if key not in self._graphs:
            encoder = self[which]
            self._graphs[key] = tf.function(lambda x: encoder(x)["sequence_output"], input_signature=[spec])
        return self._graphs[key]


@pytest.fixture(scope="module", params=FAMILIES)
def encoders(request):
    checked = build_encoder(tiny_config(request.param))
    unchecked = build_encoder(tiny_config(request.param), check_inputs=False)
    unchecked.set_weights(checked.get_weights())
    return Encoders((checked, unchecked))


def good_inputs(batch=2, length=6, dtype="int32"):
    word_ids = (np.arange(batch * length).reshape(batch, length) % (VOCAB - 1) + 1).astype(dtype)
    return {"input_word_ids": word_ids, "input_mask": np.ones((batch, length), dtype),
            "input_type_ids": (np.arange(length)[None, :] >= length // 2).repeat(batch, 0).astype(dtype)}


def runners(encoders, which=0, spec=DYNAMIC):
    """One encoder eagerly and as a graph with dynamic shapes."""
    return {"eager": encoders[which], "graph": encoders.graph(which, spec)}


VALUE_CASES = [
    ("input_word_ids", VOCAB, rf"input_word_ids must be in \[0, vocab_size={VOCAB}\)"),
    ("input_word_ids", -1, rf"input_word_ids must be in \[0, vocab_size={VOCAB}\)"),
    ("input_word_ids", 2**31 - 1, rf"input_word_ids must be in \[0, vocab_size={VOCAB}\)"),
    ("input_type_ids", TYPE_VOCAB, rf"input_type_ids must be in \[0, type_vocab_size={TYPE_VOCAB}\)"),
    ("input_type_ids", -3, rf"input_type_ids must be in \[0, type_vocab_size={TYPE_VOCAB}\)"),
    ("input_mask", 2, "input_mask values must be 0 or 1"),
    ("input_mask", -1, "input_mask values must be 0 or 1"),
]


@pytest.mark.parametrize("key, value, message", VALUE_CASES)
def test_out_of_range_values_are_named_with_their_limit(encoders, key, value, message):
    checked, _ = encoders
    inputs = good_inputs()
    inputs[key][1, 3] = value
    for mode, run in runners(encoders).items():
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            run(inputs)


def test_int64_ids_are_checked_before_the_int32_cast(encoders):
    """2**32 + 5 wraps to 5 in int32: unchecked it silently reads row 5; checked it is refused."""
    checked, unchecked = encoders
    wide = good_inputs(dtype="int64")
    wide["input_word_ids"][0, 2] = 2**32 + 5
    for mode, run in runners(encoders, 0, DYNAMIC_64).items():
        with pytest.raises(tf.errors.InvalidArgumentError, match=rf"input_word_ids must be in \[0, vocab_size={VOCAB}\)"):
            run(wide)
    for unsigned, bad in (("uint64", 2**63 + 7), ("uint8", 200)):
        inputs = good_inputs(dtype=unsigned)
        inputs["input_word_ids"][1, 1] = bad
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"input_word_ids must be in \[0, vocab_size"):
            checked(inputs)
    # Without the checks, the wrapped id is read as another row: the checks are the only guarantee.
    narrow = {k: v.astype("int32") for k, v in good_inputs().items()}
    narrow["input_word_ids"][0, 2] = 5
    np.testing.assert_allclose(unchecked(wide)["sequence_output"], unchecked(narrow)["sequence_output"], atol=1e-6)


def test_without_checks_cpu_gather_gives_no_named_error(encoders):
    """What the checks replace: on CPU tf.gather either fails with a kernel message that names
    neither the input nor the vocab size, or returns zeros (other devices); never our message."""
    _, unchecked = encoders
    table = tf.constant(np.arange(12, dtype="float32").reshape(4, 3))
    with tf.device("/CPU:0"):
        try:
            gathered = tf.gather(table, tf.constant([1, 4]))
        except tf.errors.InvalidArgumentError as e:
            assert "is not in [0, 4)" in str(e)
        else:  # the documented non-CPU behaviour: zeros for the bad index
            np.testing.assert_array_equal(gathered.numpy()[1], np.zeros(3))
    inputs = good_inputs()
    inputs["input_word_ids"][0, 0] = VOCAB
    for mode, run in runners(encoders, 1).items():
        try:
            run(inputs)
        except tf.errors.InvalidArgumentError as e:
            assert "vocab_size" not in str(e) and "input_word_ids" not in str(e)


def test_check_inputs_false_is_documented_switch(encoders):
    """Same outputs on good input, fewer Assert ops in the graph, and stored in get_config."""
    checked, unchecked = encoders
    inputs = good_inputs()
    np.testing.assert_allclose(checked(inputs)["sequence_output"], unchecked(inputs)["sequence_output"], atol=1e-6)
    assert checked.get_config()["check_inputs"] is True and unchecked.get_config()["check_inputs"] is False
    assert type(unchecked).from_config(unchecked.get_config()).check_inputs is False

    def assert_ops(encoder):
        graph = tf.function(lambda x: encoder(x)["sequence_output"]).get_concrete_function(DYNAMIC).graph
        ops = [op for op in graph.get_operations() if op.type == "Assert"]
        for function in graph._functions.values():  # asserts inside nested functions (cond branches)
            ops += [n for n in function.definition.node_def if n.op == "Assert"]
        return len(ops)

    with_checks, without = assert_ops(checked), assert_ops(unchecked)
    assert without < with_checks
    assert without == 1  # only the always-on max_position_embeddings check remains
    # A mask of 2 passes unchecked (treated as "attend"): the switch really is off.
    inputs["input_mask"][0, 0] = 2
    unchecked(inputs)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bool", "str"])
def test_wrong_dtype_is_named(encoders, dtype):
    checked, _ = encoders
    for key in KEYS:
        inputs = good_inputs()
        inputs[key] = inputs[key].astype(dtype)
        with pytest.raises(TypeError, match=rf"{key} must be an integer tensor \(int32\), got dtype"):
            checked(inputs)
        spec = dict(DYNAMIC, **{key: tf.TensorSpec([None, None], tf.as_dtype(inputs[key].dtype)
                                                 if dtype != "str" else tf.string)})
        with pytest.raises(TypeError, match=rf"{key} must be an integer tensor"):
            tf.function(lambda x: checked(x)["sequence_output"]).get_concrete_function(spec)


@pytest.mark.parametrize("key", KEYS)
def test_mismatched_shapes_are_named(encoders, key):
    checked, _ = encoders
    for shape in ((2, 5), (3, 6), (1, 1)):
        inputs = good_inputs()
        inputs[key] = np.ones(shape, "int32")
        with pytest.raises(ValueError, match="input_word_ids, input_mask and input_type_ids must have the same shape"):
            checked(inputs)
        with pytest.raises(tf.errors.InvalidArgumentError, match="must have the same shape"):
            encoders.graph(0)(inputs)
    inputs = good_inputs()
    inputs[key] = inputs[key][0]
    with pytest.raises(ValueError, match=rf"{key} must have shape \[batch, seq_length\], got shape \(6,\)"):
        checked(inputs)


def test_missing_or_non_dict_inputs_are_named(encoders):
    checked, _ = encoders
    inputs = good_inputs()
    del inputs["input_type_ids"]
    with pytest.raises(KeyError, match="missing \\['input_type_ids'\\]"):
        checked(inputs)
    with pytest.raises(TypeError, match="must be a dict with keys"):
        checked([good_inputs()["input_word_ids"]])


def test_sequence_longer_than_max_positions_is_named(encoders):
    checked, unchecked = encoders
    too_long = good_inputs(length=MAX_POSITIONS + 1)
    message = f"exceeds max_position_embeddings={MAX_POSITIONS}"
    for which in (0, 1):  # always checked, also with check_inputs=False
        with pytest.raises(ValueError, match=f"length {MAX_POSITIONS + 1} {message}"):
            encoders[which](too_long)
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            encoders.graph(which)(too_long)
    assert checked(good_inputs(length=MAX_POSITIONS))["sequence_output"].shape == (2, MAX_POSITIONS, 16)


def test_empty_sequence_is_named(encoders):
    checked, _ = encoders
    empty = {k: np.zeros((2, 0), "int32") for k in KEYS}
    with pytest.raises(ValueError, match="input sequence length must be at least 1"):
        checked(empty)
    with pytest.raises(tf.errors.InvalidArgumentError, match="input sequence length must be at least 1"):
        encoders.graph(0)(empty)


def test_batch_of_zero_gives_empty_outputs(encoders):
    checked, _ = encoders
    empty = good_inputs(batch=0)
    for mode, run in runners(encoders).items():
        out = run(empty)
        sequence = out["sequence_output"] if isinstance(out, dict) else out
        assert tuple(sequence.shape) == (0, 6, 16), mode
    out = checked(empty)
    assert tuple(out["pooled_output"].shape) == (0, 16)
    assert len(out["encoder_outputs"]) == 2 and all(tuple(t.shape) == (0, 6, 16) for t in out["encoder_outputs"])
