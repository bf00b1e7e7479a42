"""Dynamic masking for masked-language-model training (the `.mlm` inputs).

Like BERT's create_pretraining_data, but in-graph and fresh on every call:
15% of the real (non-special, non-padding) tokens of each row are selected,
at least one and at most max_predictions; of those, 80% become [MASK], 10% a
random token and 10% stay unchanged. The random source is a stateless RNG
driven by `seed`, so equal seeds give equal masks.
"""

import tensorflow as tf


def mask_for_mlm(input_word_ids, input_mask, special_tokens, max_predictions, seed,
                 selection_rate=0.15, mask_token_rate=0.8, random_token_rate=0.1,
                 extra_special_ids=()):
    """Masks tokens for MLM.

    Args:
      input_word_ids: int32 [batch, seq].
      input_mask: int32 [batch, seq], 1 for real tokens.
      special_tokens: dict with vocab_size, start_of_sequence_id,
        end_of_segment_id, padding_id, mask_id (ints or scalar tensors).
      max_predictions: python int P, the padded number of predictions per row.
      seed: int tensor/list of shape [2] for the stateless RNG.
      selection_rate, mask_token_rate, random_token_rate: the BERT rates.
      extra_special_ids: more ids that must never be selected (e.g. [UNK]).

    Returns:
      dict: input_word_ids (masked), input_mask, masked_lm_positions int32
      [batch, P], masked_lm_ids int32 [batch, P] (the original ids),
      masked_lm_weights float32 [batch, P] (1.0 for real predictions, 0.0 for
      padding). Positions are ascending; padding entries are 0.
    """
    if max_predictions < 1:
        raise ValueError(f"max_predictions must be >= 1, got {max_predictions}.")
    if not 0.0 <= mask_token_rate + random_token_rate <= 1.0:
        raise ValueError("mask_token_rate + random_token_rate must lie in [0, 1].")
    ids = tf.cast(input_word_ids, tf.int32)
    mask = tf.cast(input_mask, tf.int32)
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
    seeds = tf.random.experimental.stateless_split(seed, num=3)
    batch, seq = tf.shape(ids)[0], tf.shape(ids)[1]

    candidate = mask > 0
    for key in ("start_of_sequence_id", "end_of_segment_id", "padding_id", "mask_id"):
        candidate &= ids != tf.cast(special_tokens[key], tf.int32)
    for special in extra_special_ids:
        candidate &= ids != special
    num_candidates = tf.reduce_sum(tf.cast(candidate, tf.int32), axis=1)
    wanted = tf.cast(tf.round(tf.cast(num_candidates, tf.float32) * selection_rate), tf.int32)
    wanted = tf.minimum(tf.minimum(tf.maximum(wanted, 1), max_predictions), num_candidates)

    # Random order of the candidates; the first `wanted` are selected.
    score = tf.random.stateless_uniform([batch, seq], seeds[0])
    score = tf.where(candidate, score, -1.0)
    k = tf.minimum(max_predictions, seq)
    _, order = tf.math.top_k(score, k=k)
    rank = tf.range(k)[tf.newaxis, :]
    chosen = rank < wanted[:, tf.newaxis]
    # Ascending positions, the unchosen slots moved to the end.
    sort_key = tf.where(chosen, order, order + seq)
    positions = tf.sort(sort_key, axis=1)
    chosen = positions < seq
    positions = tf.where(chosen, positions, 0)
    padding = [[0, 0], [0, max_predictions - k]]
    positions = tf.pad(positions, padding)
    chosen = tf.pad(chosen, padding)

    original = tf.gather(ids, positions, batch_dims=1)
    action = tf.random.stateless_uniform([batch, max_predictions], seeds[1])
    random_ids = tf.random.stateless_uniform(
        [batch, max_predictions], seeds[2], minval=0,
        maxval=tf.cast(special_tokens["vocab_size"], tf.int32), dtype=tf.int32)
    replacement = tf.where(
        action < mask_token_rate, tf.cast(special_tokens["mask_id"], tf.int32),
        tf.where(action < mask_token_rate + random_token_rate, random_ids, original))
    rows = tf.broadcast_to(tf.range(batch)[:, tf.newaxis], tf.shape(positions))
    scatter_at = tf.boolean_mask(tf.stack([rows, positions], axis=-1), chosen)
    masked = tf.tensor_scatter_nd_update(ids, scatter_at, tf.boolean_mask(replacement, chosen))
    return {
        "input_word_ids": masked,
        "input_mask": mask,
        "masked_lm_positions": positions,
        "masked_lm_ids": tf.where(chosen, original, 0),
        "masked_lm_weights": tf.cast(chosen, tf.float32),
    }
