"""Pooling of token embeddings into one vector per text, under the input mask (sentence-transformers' modes)."""

import keras
import tensorflow as tf

# sentence-transformers' Pooling modes; several are concatenated in the order given.
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")


@keras.saving.register_keras_serializable(package="official_encoders")
class MaskedPooling(keras.layers.Layer):
    """Pools `sequence_output` over the tokens under `input_mask`, as sentence-transformers' Pooling does.

    Each mode gives one `[batch, hidden]` vector; several modes are
    concatenated in the order given (`[batch, len(modes) * hidden]`). The
    computation is float32 whatever the input dtype. Modes:

    - `"mean"`: the mean of the token vectors under the mask;
    - `"mean_sqrt_len_tokens"`: their sum divided by the square root of the token count;
    - `"max"`: the element-wise maximum over the tokens (0 for a text with no tokens);
    - `"cls"`: the first token under the mask (position 0 for a text with no tokens);
    - `"lasttoken"`: the last token under the mask;
    - `"weightedmean"`: the mean weighted by position (1 for the first position).

    `prompt_length` (a scalar or `[batch]`) takes the first positions out of the mask,
    as sentence-transformers does for a prompt when `include_prompt=False`; they still
    count for `weightedmean`'s position weights.

    Args:
      modes: a tuple of the mode names above.
      normalize: L2-normalise the result (sentence-transformers' Normalize module).

    Example:

    >>> import numpy as np
    >>> from official_encoders.layers.masked_pooling import MaskedPooling
    >>> tokens = np.array([[[1., 0.], [3., 2.], [9., 9.]]], "float32")
    >>> mask = np.array([[1, 1, 0]], "int32")
    >>> MaskedPooling(modes=("mean", "max"))(tokens, mask).numpy().tolist()
    [[2.0, 1.0, 3.0, 2.0]]
    """

    def __init__(self, modes=("mean",), normalize=False, **kwargs):
        kwargs.setdefault("autocast", False)
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        modes = (modes,) if isinstance(modes, str) else tuple(modes)
        unknown = [m for m in modes if m not in POOLING_MODES]
        if not modes or unknown:
            raise ValueError(f"MaskedPooling modes {modes!r}: use one or more of {', '.join(POOLING_MODES)}.")
        self.modes = modes
        self.normalize = bool(normalize)

    def call(self, sequence_output, input_mask, prompt_length=None):
        """sequence_output [B, S, H], input_mask int [B, S] (1 = token) -> float32 [B, len(modes) * H]."""
        x = tf.cast(sequence_output, tf.float32)
        token_mask = tf.cast(input_mask, tf.float32)
        positions = tf.range(tf.shape(x)[1])
        mask = token_mask
        if prompt_length is not None:
            prompt_length = tf.reshape(tf.cast(prompt_length, tf.int32), [-1, 1])
            mask = mask * tf.cast(positions[tf.newaxis, :] >= prompt_length, tf.float32)
        count = tf.reduce_sum(mask, axis=1, keepdims=True)  # [B, 1]
        summed = tf.reduce_sum(x * mask[:, :, tf.newaxis], axis=1)
        pooled = []
        for mode in self.modes:
            if mode == "mean":
                pooled.append(summed / tf.maximum(count, 1e-9))
            elif mode == "mean_sqrt_len_tokens":
                pooled.append(summed / tf.sqrt(tf.maximum(count, 1e-9)))
            elif mode == "max":
                masked = tf.where(mask[:, :, tf.newaxis] > 0, x, tf.float32.min)
                pooled.append(tf.where(count > 0, tf.reduce_max(masked, axis=1), 0.0))
            elif mode == "cls":
                first = tf.argmax(mask, axis=1, output_type=tf.int32)
                pooled.append(tf.gather(x, first, batch_dims=1))
            elif mode == "lasttoken":
                last = tf.shape(x)[1] - 1 - tf.argmax(tf.reverse(mask, axis=[1]), axis=1, output_type=tf.int32)
                pooled.append(tf.gather(x * mask[:, :, tf.newaxis], last, batch_dims=1))
            else:  # weightedmean: positions count from the first real token
                start = tf.argmax(token_mask, axis=1, output_type=tf.int32)[:, tf.newaxis]
                weights = mask * tf.cast(positions[tf.newaxis, :] + 1 - start, tf.float32)
                weighted = tf.reduce_sum(x * weights[:, :, tf.newaxis], axis=1)
                pooled.append(weighted / tf.maximum(tf.reduce_sum(weights, axis=1, keepdims=True), 1e-9))
        out = pooled[0] if len(pooled) == 1 else tf.concat(pooled, axis=-1)
        if self.normalize:  # x / max(||x||, 1e-12), as torch.nn.functional.normalize
            out = tf.math.l2_normalize(out, axis=-1, epsilon=1e-24)
        return out

    def get_config(self):
        config = super().get_config()
        config.update(modes=list(self.modes), normalize=self.normalize)
        return config
