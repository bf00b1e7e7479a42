"""bert_pack_inputs: against tensorflow-text's trimmers, errors, dynamic length, properties."""

import random

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text as text
from hypothesis import given, settings, strategies as st

from preprocessors.packing import bert_pack_inputs
from tests.preprocessors import reference_packing

SPECIAL = dict(start_of_sequence_id=101, end_of_segment_id=102, padding_id=0)


def ragged(rows):
    return tf.RaggedTensor.from_row_lengths(
        tf.constant([t for r in rows for t in r], tf.int32),
        tf.constant([len(r) for r in rows], tf.int64))


@pytest.mark.parametrize("truncation,trimmer", [
    ("round_robin", text.RoundRobinTrimmer), ("waterfall", text.WaterfallTrimmer)])
def test_equals_tensorflow_text_trim_combine_pad(truncation, trimmer):
    rng = random.Random(0)
    for _ in range(30):
        n, batch = rng.randint(1, 4), rng.randint(1, 5)
        seq_length = rng.randint(n + 1, 24)
        rows = [[[rng.randint(1, 99) for _ in range(rng.randint(0, 14))] for _ in range(batch)]
                for _ in range(n)]
        segments = [ragged(r) for r in rows]
        ours = bert_pack_inputs(segments, seq_length, SPECIAL, truncation)
        ids, types = text.combine_segments(
            trimmer(seq_length - n - 1).trim(segments), 101, 102)
        want_ids, want_mask = text.pad_model_inputs(ids, seq_length)
        want_types, _ = text.pad_model_inputs(types, seq_length)
        np.testing.assert_array_equal(ours["input_word_ids"], want_ids)
        np.testing.assert_array_equal(ours["input_mask"], want_mask)
        np.testing.assert_array_equal(ours["input_type_ids"], want_types)
        for b in range(batch):
            ref = reference_packing.pack([r[b] for r in rows], seq_length, 101, 102, 0, truncation)
            assert ours["input_word_ids"][b].numpy().tolist() == ref[0]
            assert ours["input_type_ids"][b].numpy().tolist() == ref[2]


def test_type_ids_count_up_per_segment():
    out = bert_pack_inputs([ragged([[1]]), ragged([[2, 3]]), ragged([[4]])], 10, SPECIAL)
    assert out["input_word_ids"].numpy().tolist() == [[101, 1, 102, 2, 3, 102, 4, 102, 0, 0]]
    assert out["input_type_ids"].numpy().tolist() == [[0, 0, 0, 1, 1, 1, 2, 2, 0, 0]]


def test_dynamic_length_pads_to_multiple_of_eight_without_truncation():
    out = bert_pack_inputs([ragged([[1] * 9, [2]])], None, SPECIAL)
    assert out["input_word_ids"].shape == (2, 16)
    assert out["input_mask"].numpy().sum(axis=1).tolist() == [11, 3]
    out = bert_pack_inputs([ragged([[1] * 30])], None, SPECIAL)
    assert out["input_word_ids"].shape == (1, 32)


def test_zero_batch_and_empty_segments():
    empty = ragged([])
    out = bert_pack_inputs([empty, empty], 8, SPECIAL)
    assert out["input_word_ids"].shape == (0, 8)
    out = bert_pack_inputs([ragged([[]]), ragged([[]])], 8, SPECIAL)
    assert out["input_word_ids"].numpy().tolist() == [[101, 102, 102, 0, 0, 0, 0, 0]]


def test_too_small_seq_length_raises_clear_error():
    with pytest.raises(ValueError, match=r"seq_length=2 .* use seq_length >= 3"):
        bert_pack_inputs([ragged([[1]]), ragged([[2]])], 2, SPECIAL)
    with pytest.raises(ValueError, match="truncation"):
        bert_pack_inputs([ragged([[1]])], 8, SPECIAL, truncation="longest_first")
    with pytest.raises(ValueError, match="at least one segment"):
        bert_pack_inputs([], 8, SPECIAL)


def test_too_small_tensor_seq_length_fails_in_graph_with_message():
    fn = tf.function(lambda a, n: bert_pack_inputs([a, a], n, SPECIAL))
    with pytest.raises(tf.errors.InvalidArgumentError, match="seq_length is smaller than 3"):
        fn(ragged([[1]]), tf.constant(2))


token_rows = st.lists(st.lists(st.integers(1, 50), max_size=12), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None)
@given(segments=st.lists(token_rows, min_size=1, max_size=3).filter(
    lambda s: len({len(x) for x in s}) == 1), seq_length=st.integers(1, 20),
       truncation=st.sampled_from(["round_robin", "waterfall"]))
def test_properties(segments, seq_length, truncation):
    n = len(segments)
    if seq_length < n + 1:
        with pytest.raises(ValueError):
            bert_pack_inputs([ragged(s) for s in segments], seq_length, SPECIAL, truncation)
        return
    out = bert_pack_inputs([ragged(s) for s in segments], seq_length, SPECIAL, truncation)
    ids, mask = out["input_word_ids"].numpy(), out["input_mask"].numpy()
    assert ids.shape[1] == seq_length
    np.testing.assert_array_equal(mask, ids != 0)
    assert ((ids == 101).sum(axis=1) == 1).all()
    assert ((ids == 102).sum(axis=1) == n).all()


def dynamic_width(rows, max_seq_length):
    """The documented width: longest packed row rounded up to a multiple of 8 (at least 8), capped."""
    longest = max([1 + sum(len(s) + 1 for s in row) for row in zip(*rows)], default=0)
    return min(max(-(-longest // 8) * 8, 8), max_seq_length)


@settings(max_examples=40, deadline=None)
@given(segments=st.lists(token_rows, min_size=1, max_size=3).filter(
    lambda s: len({len(x) for x in s}) == 1), max_seq_length=st.integers(4, 40),
       truncation=st.sampled_from(["round_robin", "waterfall"]))
def test_dynamic_length_with_cap_equals_reference_at_the_documented_width(
        segments, max_seq_length, truncation):
    width = dynamic_width(segments, max_seq_length)
    tensor_zero = tf.function(lambda *s: bert_pack_inputs(
        list(s), tf.constant(0), SPECIAL, truncation, max_seq_length=max_seq_length))
    ragged_segments = [ragged(s) for s in segments]
    for out in (bert_pack_inputs(ragged_segments, 0, SPECIAL, truncation, max_seq_length=max_seq_length),
                bert_pack_inputs(ragged_segments, None, SPECIAL, truncation, max_seq_length=max_seq_length),
                tensor_zero(*ragged_segments)):
        assert out["input_word_ids"].shape[1] == width
        for b in range(len(segments[0])):
            ids, mask, types = reference_packing.pack(
                [s[b] for s in segments], width, 101, 102, 0, truncation)
            assert out["input_word_ids"][b].numpy().tolist() == ids
            assert out["input_mask"][b].numpy().tolist() == mask
            assert out["input_type_ids"][b].numpy().tolist() == types


def test_tensor_seq_length_picks_fixed_or_dynamic_in_one_graph():
    fn = tf.function(lambda a, n: bert_pack_inputs([a], n, SPECIAL, max_seq_length=24))
    rows = ragged([[1] * 9, [2]])
    assert fn(rows, tf.constant(0))["input_word_ids"].shape == (2, 16)
    assert fn(rows, tf.constant(40))["input_word_ids"].shape == (2, 40)  # fixed lengths are not capped
    assert fn.experimental_get_tracing_count() == 1  # one trace serves both
    long = ragged([[1] * 30])
    capped = fn(long, tf.constant(0))
    np.testing.assert_array_equal(capped["input_word_ids"], bert_pack_inputs([long], 24, SPECIAL)["input_word_ids"])


def test_dynamic_length_of_zero_batch_is_eight_wide():
    empty = ragged([])
    assert bert_pack_inputs([empty, empty], 0, SPECIAL, max_seq_length=64)["input_word_ids"].shape == (0, 8)


def test_negative_seq_length_and_bad_cap_raise_clear_errors():
    with pytest.raises(ValueError, match=r"seq_length=-8 is negative; pass 0 .* dynamic"):
        bert_pack_inputs([ragged([[1]])], -8, SPECIAL)
    fn = tf.function(lambda a, n: bert_pack_inputs([a], n, SPECIAL, max_seq_length=16))
    with pytest.raises(tf.errors.InvalidArgumentError, match="seq_length is smaller than 2.*not 0"):
        fn(ragged([[1]]), tf.constant(-8))
    with pytest.raises(ValueError, match=r"max_seq_length=2 must be a python int >= 3"):
        bert_pack_inputs([ragged([[1]]), ragged([[2]])], 0, SPECIAL, max_seq_length=2)
