"""Answer spans from start/end logits, as Hugging Face's question-answering pipeline picks them.

Per window (transformers 4.57 `select_starts_ends` and `decode_spans`): logits of
positions that cannot hold an answer are set to -10000 ([CLS] stays in), start
and end get a softmax each, a span's score is p_start * p_end over spans of at
most `max_answer_length` tokens, and the 12 best spans (`2 * top_k + 10` for
top_k 1) of every window are candidates; [CLS]'s own p_start * p_end is the
window's "no answer" score. Over the windows of one example (its `postprocess`),
candidates whose answer text is equal ignoring case are one answer whose score
is their sum, kept at the first one's position; the best answer wins, ties to
the one seen first (`best_answers` lists the n best in that order); with
`version_2_with_negative` the lowest "no answer" score over the windows wins
when it is higher.
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


def _answer_groups(candidate_example, answer_texts, scores):
    """Candidates of one example with equal texts (ignoring case) as one group, in first-seen order.

    Returns (first, example, score, valid) per group: its first candidate, its example,
    the sum of its candidates' scores (-1 for a group of one unscored candidate), and
    whether it is scored at all.
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
    return group_first, group_example, tf.where(group_valid, group_score, -1.0), group_valid


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
    group_first, group_example, group_score, group_valid = _answer_groups(candidate_example, answer_texts, scores)
    num_groups = tf.size(group_first, out_type=tf.int64)
    best_score = tf.math.unsorted_segment_max(group_score, group_example, num_examples)
    is_best = tf.logical_and(group_valid, tf.equal(group_score, tf.gather(best_score, group_example)))
    never = tf.int64.max
    best_group = tf.math.unsorted_segment_min(
        tf.where(is_best, tf.range(num_groups), never), group_example, num_examples)
    found = best_group < never
    chosen = tf.gather(group_first, tf.where(found, best_group, 0))
    return chosen, tf.where(found, best_score, 0.0), found


def best_answers(candidate_example, answer_texts, scores, num_examples, n):
    """Each example's `n` best answers, best first, merged as `merge_answers` merges them.

    The first of each example is `merge_answers`' choice: answers are ordered by merged
    score, ties to the one seen first.

    Args:
      candidate_example, answer_texts, scores, num_examples: as `merge_answers`.
      n: how many answers to keep per example (a python int).

    Returns:
      (chosen, score): int64 [num_examples, n], the candidate that gives each answer its
      position (-1 past an example's last answer), and float32 [num_examples, n], the
      merged scores (0 there).

    Example:

        chosen, score = best_answers(example, texts, scores, batch, n=20)
    """
    group_first, group_example, group_score, group_valid = _answer_groups(candidate_example, answer_texts, scores)
    kept = tf.where(group_valid)[:, 0]
    first, example, score = (tf.gather(x, kept) for x in (group_first, group_example, group_score))
    # Groups come in first-seen order; stable sorts by score, then by example, keep that order for ties.
    by_score = tf.argsort(-score, stable=True)
    order = tf.gather(by_score, tf.argsort(tf.gather(example, by_score), stable=True))
    first, example, score = (tf.gather(x, order) for x in (first, example, score))
    counts = tf.math.unsorted_segment_sum(tf.ones_like(example), example, num_examples)
    rank = tf.range(tf.size(example, out_type=tf.int64)) - tf.gather(tf.cumsum(counts, exclusive=True), example)
    top = tf.where(rank < n)[:, 0]
    index = tf.stack([tf.gather(example, top), tf.gather(rank, top)], axis=1)
    shape = tf.stack([tf.cast(num_examples, tf.int64), tf.constant(n, tf.int64)])
    chosen = tf.tensor_scatter_nd_update(tf.fill(shape, tf.constant(-1, tf.int64)), index, tf.gather(first, top))
    merged = tf.tensor_scatter_nd_update(tf.zeros(shape, tf.float32), index, tf.gather(score, top))
    return chosen, merged
