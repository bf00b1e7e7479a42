"""AlbertEncoder: factorized embedding and one Transformer block shared by every layer."""

import keras

from official_encoders.encoder_base import TransformerEncoderBase


@keras.saving.register_keras_serializable(package="official_encoders")
class AlbertEncoder(TransformerEncoderBase):
    """ALBERT: embeddings of width embedding_size, projected to hidden_size by
    `embedding_projection`, then the block `transformer/shared_layer` applied
    num_layers times. Same call and outputs as BertEncoder."""

    family = "albert"
    shares_one_block = True
