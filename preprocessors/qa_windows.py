"""Question + context packed into overlapping windows of encoder inputs, in the graph.

This is how Hugging Face's question-answering pipeline packs a pair (its fast
tokenizer with `truncation="only_second"`, `return_overflowing_tokens=True`,
`stride=doc_stride`): every window is `[CLS] question [SEP] context piece [SEP]`
of at most `max_seq_length` tokens. The context gets `budget = max_seq_length -
len(question) - 3` tokens per window; consecutive windows start `budget -
doc_stride` tokens apart, so they overlap by `doc_stride` tokens (Hugging Face's
meaning; google-research BERT's `doc_stride` is the step instead), and the last
window is the first one that reaches the context's end.

The question keeps at most `max_query_length` tokens (the pipeline's fast path
keeps it whole and fails when it leaves no room; below that length the two agree).
Besides the encoder inputs, the windows say which context piece each position
holds, so answers can be mapped back to the input text.
"""

import tensorflow as tf


def check_window_settings(max_seq_length, doc_stride, max_query_length):
    """Raises ValueError unless every window keeps more than `doc_stride` context tokens."""
    for name, value in (("max_seq_length", max_seq_length), ("doc_stride", doc_stride),
                        ("max_query_length", max_query_length)):
        if not isinstance(value, int) or value < (0 if name == "doc_stride" else 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    budget = max_seq_length - max_query_length - 3
    if doc_stride >= budget:
        raise ValueError(
            f"doc_stride {doc_stride} leaves the windows no room to move: with max_seq_length {max_seq_length} "
            f"and max_query_length {max_query_length} a window holds {budget} context tokens, so doc_stride "
            f"(the overlap between windows) must be below {max(budget, 0)}. Lower doc_stride or "
            "max_query_length, or raise max_seq_length.")


def _ragged_column(value, rows):
    return tf.RaggedTensor.from_tensor(tf.fill(tf.stack([rows, 1]), tf.cast(value, tf.int64)))


def question_context_windows(question_ids, context_pieces, special_ids, max_seq_length=384, doc_stride=128,
                             max_query_length=64):
    """Packs each (question, context) pair into one or more windows.

    Args:
      question_ids: RaggedTensor [batch, (tokens)] of question token ids.
      context_pieces: RaggedTensor [batch, (words), (pieces)] of context token ids,
        grouped by word (`tokenize_words_with_offsets` of either tokenizer).
      special_ids: dict with `start_of_sequence_id`, `end_of_segment_id`, `padding_id` (python ints).
      max_seq_length, doc_stride, max_query_length: as in the module docstring.

    Returns:
      A dict of tensors. `input_word_ids`, `input_mask`, `input_type_ids` [windows, seq]
      int32 (padded to the longest window); `window_example` [windows] int64, the batch
      row of each window; `context_piece` [windows, seq] int64, the flat index (over the
      whole batch) of the context piece at each position, -1 elsewhere;
      `window_first_piece`, `window_last_piece` [windows] int64, the flat indices of the
      first and last context piece in the window (last < first when it has none);
      `word_first_piece`, `word_last_piece` [pieces] int64, for each flat context piece
      the flat indices of the first and last piece of its word.

    Example:

        windows = question_context_windows(tokenizer.tokenize(questions),
                                           tokenizer.tokenize_words_with_offsets(contexts)[0],
                                           tokenizer.special_ids, max_seq_length=384)
    """
    check_window_settings(max_seq_length, doc_stride, max_query_length)
    question = tf.cast(question_ids[:, :max_query_length], tf.int64)
    pieces = context_pieces.merge_dims(1, 2)
    question_length = question.row_lengths()
    context_length = pieces.row_lengths()
    budget = max_seq_length - 3 - question_length
    step = budget - doc_stride
    overflow = tf.maximum(context_length - budget, 0)
    num_windows = 1 + (overflow + step - 1) // step
    window_example = tf.repeat(tf.range(tf.size(num_windows, out_type=tf.int64)), num_windows)
    index_in_example = tf.ragged.range(num_windows).flat_values
    first = index_in_example * tf.gather(step, window_example)
    length = tf.minimum(tf.gather(budget, window_example), tf.gather(context_length, window_example) - first)
    base = tf.gather(pieces.row_splits[:-1], window_example)
    context_piece = tf.ragged.range(base + first, base + first + length)
    rows = tf.size(window_example, out_type=tf.int64)
    cls = _ragged_column(special_ids["start_of_sequence_id"], rows)
    sep = _ragged_column(special_ids["end_of_segment_id"], rows)
    none = _ragged_column(-1, rows)
    word_ids = tf.concat([cls, tf.gather(question, window_example), sep,
                          tf.gather(tf.cast(pieces.flat_values, tf.int64), context_piece), sep], axis=1)
    question_positions = tf.concat([cls, tf.gather(question, window_example), sep], axis=1)
    type_ids = tf.concat([tf.zeros_like(question_positions),
                          tf.ones_like(context_piece), tf.ones_like(sep)], axis=1)
    positions = tf.concat([tf.zeros_like(question_positions) - 1, context_piece, none], axis=1)
    words = context_pieces.values  # [flat words, (pieces)]: row splits are flat piece indices
    piece_word = words.value_rowids()
    return {
        "input_word_ids": tf.cast(word_ids.to_tensor(special_ids["padding_id"]), tf.int32),
        "input_mask": tf.cast(tf.ones_like(word_ids).to_tensor(0), tf.int32),
        "input_type_ids": tf.cast(type_ids.to_tensor(0), tf.int32),
        "window_example": window_example,
        "context_piece": positions.to_tensor(-1),
        "window_first_piece": base + first,
        "window_last_piece": base + first + length - 1,
        "word_first_piece": tf.gather(words.row_splits[:-1], piece_word),
        "word_last_piece": tf.gather(words.row_splits[1:], piece_word) - 1,
    }
