"""Answer spans from start/end logits, as Hugging Face's question-answering pipeline picks them.

Per window (transformers 4.57 `select_starts_ends` and `decode_spans`): logits of
positions that cannot hold an answer are set to -10000 ([CLS] stays in), start
and end get a softmax each, a span's score is p_start * p_end over spans of at
most `max_answer_length` tokens, and the 12 best spans (`2 * top_k + 10` for
top_k 1) of every window are candidates; [CLS]'s own p_start * p_end is the
window's "no answer" score. Over the windows of one example (its `postprocess`),
candidates whose answer text is equal ignoring case are one answer whose score
is their sum, kept at the first one's position; the best answer wins, ties to
the one seen first; with `version_2_with_negative` the lowest "no answer" score
over the windows wins when it is higher.
"""

import tensorflow as tf

CANDIDATES_PER_WINDOW = 12  # the pipeline's `top_k * 2 + 10` with top_k = 1
_MASKED_LOGIT = -10000.0


def window_candidates(start_logits, end_logits, answerable, max_answer_length,
                      per_window=CANDIDATES_PER_WINDOW):
    """The best spans of each window.

    Args:
      start_logits, end_logits: float [windows, seq].
      answerable: bool [windows, seq], True where a context token is (not [CLS]).
      max_answer_length: the longest span, in tokens.
      per_window: how many spans to keep per window.

    Returns:
      (scores, starts, ends, no_answer): scores float32 [windows, per_window] (0 where
      a window has fewer spans), starts/ends int64 token positions of the spans, and
      no_answer float32 [windows], [CLS]'s p_start * p_end.
    """
    positions = tf.range(tf.shape(answerable)[1])
    in_softmax = tf.logical_or(answerable, tf.equal(positions, 0)[tf.newaxis])

    def probabilities(logits):
        logits = tf.where(in_softmax, tf.cast(logits, tf.float32), _MASKED_LOGIT)
        return tf.nn.softmax(logits, axis=-1)

    p_start, p_end = probabilities(start_logits), probabilities(end_logits)
    no_answer = p_start[:, 0] * p_end[:, 0]
    keep = tf.cast(answerable, tf.float32)
    p_start, p_end = p_start * keep, p_end * keep
    length = int(max_answer_length)
    # scores[w, i, d] = p_start[w, i] * p_end[w, i + d]: the band d < max_answer_length.
    ends = positions[:, tf.newaxis] + tf.range(length)[tf.newaxis]
    padded_end = tf.pad(p_end, [[0, 0], [0, length]])
    scores = p_start[:, :, tf.newaxis] * tf.gather(padded_end, ends, axis=1)
    flat = tf.reshape(scores, [tf.shape(scores)[0], -1])
    best = tf.math.top_k(flat, k=tf.minimum(per_window, tf.shape(flat)[1]), sorted=True)
    index = tf.cast(best.indices, tf.int64)
    starts = index // length
    return best.values, starts, starts + index % length, no_answer


def merge_answers(candidate_example, answer_texts, scores, num_examples):
    """Picks each example's answer among its candidates, merging equal texts (ignoring case).

    Args:
      candidate_example: int64 [candidates], the example of each candidate, in the
        pipeline's order (by example, window, then rank).
      answer_texts: string [candidates].
      scores: float32 [candidates]; candidates with score <= 0 are ignored.
      num_examples: the batch size.

    Returns:
      (chosen, score, found): for each example the index of the candidate that gives
      its answer's position, the merged score, and whether it has an answer at all.
    """
    count = tf.size(scores, out_type=tf.int64)
    order = tf.range(count)
    valid = scores > 0
    keys = tf.where(
        valid,
        tf.strings.join([tf.strings.as_string(candidate_example), tf.strings.lower(answer_texts, encoding="utf-8")],
                        separator=":"),
        tf.strings.join(["-", tf.strings.as_string(order)]))
    groups, group_of = tf.unique(keys, out_idx=tf.int64)
    num_groups = tf.size(groups, out_type=tf.int64)
    group_score = tf.math.unsorted_segment_sum(tf.where(valid, scores, 0.0), group_of, num_groups)
    group_first = tf.math.unsorted_segment_min(order, group_of, num_groups)
    group_valid = tf.gather(valid, group_first)
    group_example = tf.gather(candidate_example, group_first)
    group_score = tf.where(group_valid, group_score, -1.0)
    best_score = tf.math.unsorted_segment_max(group_score, group_example, num_examples)
    is_best = tf.logical_and(group_valid, tf.equal(group_score, tf.gather(best_score, group_example)))
    never = tf.int64.max
    best_group = tf.math.unsorted_segment_min(
        tf.where(is_best, tf.range(num_groups), never), group_example, num_examples)
    found = best_group < never
    chosen = tf.gather(group_first, tf.where(found, best_group, 0))
    return chosen, tf.where(found, best_score, 0.0), found
