"""mask_for_mlm: selection rate, 80/10/10 split, special tokens, seeds, padding."""

import numpy as np
import pytest
import tensorflow as tf

from preprocessors.masking import mask_for_mlm

SPECIAL = dict(vocab_size=1000, start_of_sequence_id=1, end_of_segment_id=2, padding_id=0,
               mask_id=3)


def batch(rows=256, length=64, real=50):
    rng = np.random.default_rng(0)
    ids = rng.integers(10, 1000, size=(rows, length)).astype(np.int32)
    ids[:, 0], ids[:, real - 1], ids[:, real:] = 1, 2, 0
    return tf.constant(ids), tf.constant((ids != 0).astype(np.int32))


def test_rates_and_invariants():
    ids, mask = batch()
    out = mask_for_mlm(ids, mask, SPECIAL, max_predictions=20, seed=[1, 2])
    pos, weights = out["masked_lm_positions"].numpy(), out["masked_lm_weights"].numpy()
    chosen = weights > 0
    # 48 candidates (50 real minus [CLS]/[SEP]) -> round(7.2) = 7 per row.
    assert (chosen.sum(axis=1) == 7).all()
    original = ids.numpy()
    picked = pos[chosen]
    rows = np.nonzero(chosen)[0]
    assert not np.isin(original[rows, picked], [0, 1, 2, 3]).any()  # never special
    np.testing.assert_array_equal(out["masked_lm_ids"].numpy()[chosen], original[rows, picked])
    assert (pos[~chosen] == 0).all() and (out["masked_lm_ids"].numpy()[~chosen] == 0).all()
    sorted_ok = [list(p[c]) == sorted(p[c]) for p, c in zip(pos, chosen)]
    assert all(sorted_ok)
    new = out["input_word_ids"].numpy()
    changed = new != original
    masked_share = (new[rows, picked] == 3).mean()
    kept_share = (new[rows, picked] == original[rows, picked]).mean()
    assert 0.75 < masked_share < 0.85 and 0.06 < kept_share < 0.15
    # Only selected positions change.
    unselected = np.ones_like(changed)
    unselected[rows, picked] = False
    assert not changed[unselected].any()


def test_seeded_and_varies_with_seed():
    ids, mask = batch(rows=8)
    a = mask_for_mlm(ids, mask, SPECIAL, 20, seed=[5, 6])
    b = mask_for_mlm(ids, mask, SPECIAL, 20, seed=[5, 6])
    c = mask_for_mlm(ids, mask, SPECIAL, 20, seed=[7, 8])
    np.testing.assert_array_equal(a["input_word_ids"], b["input_word_ids"])
    assert not np.array_equal(a["masked_lm_positions"], c["masked_lm_positions"])


def test_max_predictions_caps_and_pads_beyond_sequence():
    ids, mask = batch(rows=4, length=8, real=8)
    out = mask_for_mlm(ids, mask, SPECIAL, max_predictions=12, seed=[0, 0])
    assert out["masked_lm_positions"].shape == (4, 12)
    assert (out["masked_lm_weights"].numpy().sum(axis=1) == 1).all()  # round(6*.15)=1
    with pytest.raises(ValueError, match="max_predictions"):
        mask_for_mlm(ids, mask, SPECIAL, 0, seed=[0, 0])
