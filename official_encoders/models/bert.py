"""BertEncoder: the post-LN BERT encoder (also talking-heads / gated-GELU variants)."""

import keras

from official_encoders.models.encoder_base import TransformerEncoderBase


@keras.saving.register_keras_serializable(package="official_encoders")
class BertEncoder(TransformerEncoderBase):
    """BERT: word/position/type embeddings, L Transformer blocks, tanh pooler on the first token.

    Call with {"input_word_ids", "input_mask", "input_type_ids"} (int32 [B, S], any S up
    to `max_position_embeddings`); returns {"pooled_output", "default", "sequence_output",
    "encoder_outputs"}. `config.attention_kind="talking_heads"` and
    `config.feedforward_kind="gated_gelu"` give the talking-heads/gated-GELU variant.

    Args:
      config: an `EncoderConfig` (or its `to_dict()` form) with family "bert".
      check_inputs: whether the graph checks id ranges, mask values and shapes and names
        the bad input; False for pipelines that validate upstream (TPU-style). The
        `max_position_embeddings` limit is checked either way.
      **kwargs: passed to `keras.Model` (`name`, `dtype`, ...).

    Example:
    >>> from official_encoders import BertEncoder, EncoderConfig
    >>> encoder = BertEncoder(EncoderConfig(vocab_size=100, hidden_size=16, num_layers=2,
    ...                                     num_heads=2, intermediate_size=32))
    >>> import numpy as np
    >>> ids = np.array([[2, 7, 3, 0]], "int32")
    >>> outputs = encoder({"input_word_ids": ids, "input_mask": (ids > 0).astype("int32"),
    ...                    "input_type_ids": np.zeros_like(ids)})
    >>> tuple(outputs["sequence_output"].shape), len(outputs["encoder_outputs"])
    ((1, 4, 16), 2)
    """

    family = "bert"
