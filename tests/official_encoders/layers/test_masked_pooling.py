"""MaskedPooling against numpy (every mode, padding, prompts, normalisation) and sentence-transformers' Pooling."""

import numpy as np
import pytest

from official_encoders.layers.masked_pooling import POOLING_MODES, MaskedPooling

LENGTHS = np.array([5, 2, 1, 4])


def _data(seed=0, batch=4, seq=5, hidden=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, seq, hidden)).astype(np.float32)
    mask = (np.arange(seq)[None, :] < LENGTHS[:batch, None]).astype(np.int32)
    x[mask == 0] = 100.0  # padding values that would show if any leaked into the pooling
    return x, mask


def _numpy_pool(x, mask, mode):
    """One text at a time, over its real tokens only."""
    out = []
    for tokens, m in zip(x, mask):
        real = tokens[m == 1]
        positions = np.nonzero(m)[0] + 1.0
        out.append({
            "mean": real.mean(axis=0),
            "mean_sqrt_len_tokens": real.sum(axis=0) / np.sqrt(len(real)),
            "max": real.max(axis=0),
            "cls": real[0],
            "lasttoken": real[-1],
            "weightedmean": (real * positions[:, None]).sum(axis=0) / positions.sum(),
        }[mode])
    return np.stack(out)


@pytest.mark.parametrize("mode", POOLING_MODES)
def test_each_mode_equals_numpy_over_the_real_tokens(mode):
    x, mask = _data()
    got = MaskedPooling(modes=(mode,))(x, mask)
    assert got.dtype == "float32" and tuple(got.shape) == (4, 3)
    np.testing.assert_allclose(got, _numpy_pool(x, mask, mode), rtol=1e-5, atol=1e-6)


def test_several_modes_concatenate_in_the_given_order_and_normalize():
    x, mask = _data(seed=1)
    modes = ("max", "cls", "mean")
    want = np.concatenate([_numpy_pool(x, mask, m) for m in modes], axis=-1)
    want /= np.linalg.norm(want, axis=-1, keepdims=True)
    got = MaskedPooling(modes=modes, normalize=True)(x, mask).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got, axis=-1), 1.0, rtol=1e-6)


def test_float16_input_is_pooled_in_float32():
    x, mask = _data(seed=2)
    got = MaskedPooling(modes=("mean",))(x.astype(np.float16), mask)
    assert got.dtype == "float32"
    np.testing.assert_allclose(got, _numpy_pool(x.astype(np.float16).astype(np.float32), mask, "mean"), rtol=1e-5)


def test_prompt_length_leaves_the_first_positions_out():
    x, mask = _data(seed=3)
    prompt = 2
    without = mask.copy()
    without[:, :prompt] = 0
    texts = [i for i in range(len(mask)) if without[i].any()]
    got = MaskedPooling(modes=("mean", "cls", "max"))(x, mask, prompt_length=prompt).numpy()
    for mode, part in zip(("mean", "cls", "max"), np.split(got, 3, axis=-1)):
        np.testing.assert_allclose(part[texts], _numpy_pool(x[texts], without[texts], mode), rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # the reference library needs torch
@pytest.mark.parametrize("include_prompt", [True, False])
def test_equals_sentence_transformers_pooling_with_and_without_the_prompt(include_prompt):
    import torch
    from sentence_transformers import models

    x, mask = _data(seed=4, seq=6, hidden=4)
    mask[:, :3] = 1  # every text is longer than its prompt
    for mode in POOLING_MODES:
        reference = models.Pooling(4, pooling_mode=mode, include_prompt=include_prompt)
        features = {"token_embeddings": torch.from_numpy(x), "attention_mask": torch.from_numpy(mask),
                    "prompt_length": 2}
        want = reference(features)["sentence_embedding"].numpy()
        got = MaskedPooling(modes=(mode,))(x, mask, prompt_length=None if include_prompt else 2)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=mode)


def test_a_text_without_tokens_pools_to_finite_values():
    """Zeros, except cls, which takes position 0 as sentence-transformers does."""
    x, mask = _data()
    mask[2] = 0
    modes = tuple(m for m in POOLING_MODES if m != "cls")
    got = MaskedPooling(modes=modes)(x, mask).numpy()
    assert np.isfinite(got).all() and not got[2].any()


def test_unknown_mode_is_named():
    with pytest.raises(ValueError, match=r"'median'.*mean_sqrt_len_tokens"):
        MaskedPooling(modes=("mean", "median"))
    with pytest.raises(ValueError, match="use one or more of"):
        MaskedPooling(modes=())


def test_config_round_trip():
    layer = MaskedPooling(modes=("cls", "mean"), normalize=True, name="pool")
    clone = MaskedPooling.from_config(layer.get_config())
    assert (clone.modes, clone.normalize, clone.name) == (("cls", "mean"), True, "pool")

