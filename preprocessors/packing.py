"""Packs tokenized segments into BERT encoder inputs.

`[CLS] a... [SEP] b... [SEP] ...`, with input_type_ids 0 for [CLS], the first
segment and its [SEP], 1 for the second segment and its [SEP], and so on.
"""

import tensorflow as tf

TRUNCATIONS = ("round_robin", "waterfall")
# The encoder inputs, by name: the one definition every package uses.
INPUT_KEYS = ("input_word_ids", "input_mask", "input_type_ids")
_PAD_MULTIPLE = 8


def _as_token_lists(segment):
    """A RaggedTensor [batch, (tokens)] int32 from [batch, (words), (pieces)] or rank 2."""
    if not isinstance(segment, tf.RaggedTensor):
        raise TypeError(
            f"bert_pack_inputs takes RaggedTensor segments [batch, (tokens)], got {type(segment)!r}; "
            "pass the output of .tokenize().")
    if segment.shape.rank is not None and segment.shape.rank > 2:
        segment = segment.merge_dims(-2, -1)
    return tf.cast(segment, tf.int32)


def check_seq_length(seq_length, num_segments):
    """Raises ValueError if a python seq_length is negative or cannot hold [CLS] and one [SEP] per segment.

    None and 0 ask for dynamic length; tensors are checked in the graph.
    """
    if num_segments < 1:
        raise ValueError("bert_pack_inputs needs at least one segment; got an empty list.")
    if seq_length is None or isinstance(seq_length, tf.Tensor) or int(seq_length) == 0:
        return
    if int(seq_length) < 0:
        raise ValueError(
            f"seq_length={seq_length} is negative; pass 0 (or None) for dynamic length, or "
            f"seq_length >= {num_segments + 1} for a fixed one.")
    if int(seq_length) < num_segments + 1:
        raise ValueError(
            f"seq_length={seq_length} cannot hold [CLS] and {num_segments} [SEP] token(s) "
            f"for {num_segments} segment(s); use seq_length >= {num_segments + 1}, or 0 for "
            "dynamic length.")


def check_max_seq_length(max_seq_length, num_segments):
    """Raises ValueError unless max_seq_length (the cap of dynamic length) is None or a python int that fits the segments."""
    if max_seq_length is None:
        return
    if isinstance(max_seq_length, tf.Tensor) or int(max_seq_length) < num_segments + 1:
        raise ValueError(
            f"max_seq_length={max_seq_length!r} must be a python int >= {num_segments + 1} "
            f"([CLS] plus one [SEP] for each of {num_segments} segment(s)), e.g. the encoder's "
            "max_position_embeddings.")


def _is_dynamic(seq_length):
    """True, False, or a scalar bool tensor: whether seq_length asks for dynamic length (None or 0)."""
    if seq_length is None:
        return True
    if isinstance(seq_length, tf.Tensor):
        return tf.equal(seq_length, 0)
    return int(seq_length) == 0


def _guard_tensor_seq_length(seq_length, num_segments):
    """Makes the graph fail with a clear message when a tensor seq_length is neither 0 nor big enough.

    CheckNumerics (not Assert, which the preprocessing SavedModel must not
    contain) raises InvalidArgumentError carrying the message.
    """
    too_small = tf.logical_and(seq_length < num_segments + 1, tf.not_equal(seq_length, 0))
    sentinel = tf.where(too_small, float("nan"), 0.0)
    return tf.debugging.check_numerics(
        sentinel,
        f"bert_pack_inputs: seq_length is smaller than {num_segments + 1}, the minimum for "
        f"{num_segments} segment(s) ([CLS] plus one [SEP] each), and is not 0 (dynamic length); "
        "pass a larger seq_length, or 0")


def _dynamic_width(total, max_seq_length):
    """The longest packed length in the batch rounded up to a multiple of 8 (at least 8), capped at max_seq_length."""
    longest = tf.reduce_max(tf.concat([total, [0]], axis=0))
    width = tf.maximum((longest + _PAD_MULTIPLE - 1) // _PAD_MULTIPLE * _PAD_MULTIPLE, _PAD_MULTIPLE)
    return width if max_seq_length is None else tf.minimum(width, max_seq_length)


def _select(dynamic, if_dynamic, if_fixed):
    """if_dynamic or if_fixed: chosen in python when `dynamic` is a bool, in the graph when it is a tensor."""
    if isinstance(dynamic, bool):
        return if_dynamic() if dynamic else if_fixed()
    return tf.where(dynamic, if_dynamic(), if_fixed())


def _dynamic_limit(lengths, max_seq_length):
    """The truncation limit of dynamic length: max_seq_length, or with no cap the longest packed sequence."""
    if max_seq_length is not None:
        return max_seq_length
    return tf.reduce_max(tf.concat([1 + tf.reduce_sum(lengths + 1, axis=1), [0]], axis=0))


def _kept_lengths(lengths, limit, num_segments, truncation):
    """Kept lengths [batch, N] so that [CLS], the segments and their [SEP]s fit in `limit` (None: all)."""
    if limit is None:
        return lengths
    budget = tf.maximum(limit - (num_segments + 1), 0)
    trim = _round_robin_lengths if truncation == "round_robin" else _waterfall_lengths
    return trim(lengths, budget)


def _round_robin_lengths(lengths, budget):
    """Kept lengths [batch, N] when segments take one token each in turn.

    Closed form of the round-robin loop: every segment keeps min(length, k) for
    the largest level k whose total fits the budget; the tokens left over go,
    one each, to the first segments (in order) that are longer than k.
    """
    num = tf.shape(lengths)[1]
    ascending = tf.sort(lengths, axis=1)
    below = tf.cumsum(ascending, axis=1, exclusive=True)  # sum of shorter ones
    shorter_max = tf.concat([tf.zeros_like(ascending[:, :1]), ascending[:, :-1]], axis=1)
    remaining_segments = num - tf.range(num)  # segments at or above this rank
    # For rank j, the level k lies in [shorter_max_j, ascending_j] when the
    # shorter segments are whole and the rest share what is left equally.
    level = (budget - below) // remaining_segments
    feasible = below + remaining_segments * shorter_max <= budget
    level = tf.where(feasible, tf.minimum(level, ascending), -1)
    k = tf.maximum(tf.reduce_max(level, axis=1, keepdims=True), 0)
    kept = tf.minimum(lengths, k)
    leftover = budget - tf.reduce_sum(kept, axis=1, keepdims=True)
    longer = tf.cast(lengths > k, tf.int32)
    extra = tf.cast(tf.cumsum(longer, axis=1) <= leftover, tf.int32) * longer
    return kept + extra


def _waterfall_lengths(lengths, budget):
    """Kept lengths [batch, N] when earlier segments keep as much as fits."""
    before = tf.cumsum(lengths, axis=1, exclusive=True)
    return tf.clip_by_value(budget - before, 0, lengths)


def bert_pack_inputs(segments, seq_length, special_tokens, truncation="round_robin",
                     max_seq_length=None):
    """Packs 1..N RaggedTensor segments [batch, (tokens)] into encoder inputs.

    Args:
      segments: list of RaggedTensor [batch, (tokens)] (or [batch, (words),
        (pieces)], which is merged), all with the same batch size.
      seq_length: int or scalar int tensor: pad/truncate to this length. None
        or 0: dynamic length: pad to the longest packed sequence in the batch,
        rounded up to a multiple of 8 (fast on short texts), and at most
        max_seq_length.
      special_tokens: dict with start_of_sequence_id, end_of_segment_id and
        padding_id (python ints or scalar tensors), e.g. from
        tokenizer.get_special_tokens_dict().
      truncation: "round_robin" (one token per segment in turn, until the budget
        is used) or "waterfall" (earlier segments keep as much as fits).
      max_seq_length: python int, the cap of dynamic length (the encoder's
        max_position_embeddings); longer sequences are truncated to it as
        `truncation` says. None: no cap (dynamic length never truncates).
        Fixed lengths ignore it.

    Returns:
      dict of int32 [batch, width]: input_word_ids, input_mask, input_type_ids.

    Built from dense ops only (no ragged validation), so the graph has no
    Assert ops. A tensor seq_length picks fixed or dynamic length in the graph.
    """
    if truncation not in TRUNCATIONS:
        raise ValueError(f"truncation={truncation!r} is not one of {TRUNCATIONS}.")
    segments = [_as_token_lists(s) for s in segments]
    num_segments = len(segments)
    check_seq_length(seq_length, num_segments)
    check_max_seq_length(max_seq_length, num_segments)
    if isinstance(seq_length, tf.Tensor):
        # Everything downstream reads seq_length through the guard, so a bad
        # value fails with its message before any op sees a negative size.
        seq_length = tf.cast(seq_length, tf.int32)
        with tf.control_dependencies([_guard_tensor_seq_length(seq_length, num_segments)]):
            seq_length = tf.identity(seq_length)
    dynamic = _is_dynamic(seq_length)
    lengths = tf.stack([tf.cast(s.row_lengths(), tf.int32) for s in segments], axis=1)
    batch_size = tf.shape(lengths)[0]
    if max_seq_length is None and dynamic is True:
        kept = lengths
    else:
        limit = _select(dynamic, lambda: _dynamic_limit(lengths, max_seq_length), lambda: seq_length)
        kept = _kept_lengths(lengths, limit, num_segments, truncation)
    # Segment i's tokens start after [CLS] and the earlier segments and [SEP]s.
    starts = 1 + tf.cumsum(kept + 1, axis=1, exclusive=True)
    total = 1 + tf.reduce_sum(kept + 1, axis=1)
    width = _select(dynamic, lambda: _dynamic_width(total, max_seq_length), lambda: seq_length)
    cls_id = tf.cast(special_tokens["start_of_sequence_id"], tf.int32)
    sep_id = tf.cast(special_tokens["end_of_segment_id"], tf.int32)
    pad_id = tf.cast(special_tokens["padding_id"], tf.int32)
    positions = tf.range(width)[tf.newaxis, :]
    word_ids = tf.where(positions == 0, cls_id, tf.fill([batch_size, width], pad_id))
    type_ids = tf.zeros([batch_size, width], tf.int32)
    for i, segment in enumerate(segments):
        # Dense [batch, <= width] (kept tokens never lie beyond width), plus one
        # column so an all-empty segment still has something to gather from.
        dense = tf.pad(segment[:, :width].to_tensor(default_value=0), [[0, 0], [0, 1]])
        offset = positions - starts[:, i:i + 1]
        kept_i = kept[:, i:i + 1]
        inside = tf.logical_and(offset >= 0, offset < kept_i)
        at_sep = tf.equal(offset, kept_i)
        values = tf.gather(dense, tf.clip_by_value(offset, 0, tf.shape(dense)[1] - 1), batch_dims=1)
        word_ids = tf.where(inside, values, tf.where(at_sep, sep_id, word_ids))
        type_ids = tf.where(tf.logical_or(inside, at_sep), i, type_ids)
    mask = tf.cast(positions < total[:, tf.newaxis], tf.int32)
    return dict(zip(INPUT_KEYS, (word_ids, mask, type_ids)))
