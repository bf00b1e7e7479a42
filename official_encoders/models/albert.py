"""AlbertEncoder: factorized embedding and one Transformer block shared by every layer."""

import keras

from official_encoders.models.encoder_base import TransformerEncoderBase


@keras.saving.register_keras_serializable(package="official_encoders")
class AlbertEncoder(TransformerEncoderBase):
    """ALBERT: embeddings of width embedding_size, projected to hidden_size by
    `embedding_projection`, then the block `transformer/shared_layer` applied
    num_layers times. Same call and outputs as BertEncoder.

    Args:
      config: an `EncoderConfig` (or its `to_dict()` form) with family "albert".
      check_inputs: whether the graph checks id ranges, mask values and shapes and names
        the bad input; False for pipelines that validate upstream (TPU-style). The
        `max_position_embeddings` limit is checked either way.
      **kwargs: passed to `keras.Model` (`name`, `dtype`, ...).

    Example:
    >>> from official_encoders import AlbertEncoder, EncoderConfig
    >>> encoder = AlbertEncoder(EncoderConfig(family="albert", vocab_size=100, hidden_size=16,
    ...                                       embedding_size=8, num_layers=3, num_heads=2,
    ...                                       intermediate_size=32))
    >>> encoder.block_for_layer(0) is encoder.block_for_layer(2)
    True
    """

    family = "albert"
    shares_one_block = True
