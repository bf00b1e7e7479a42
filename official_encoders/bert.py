"""BertEncoder: the post-LN BERT encoder (also talking-heads / gated-GELU variants)."""

import keras

from official_encoders.encoder_base import TransformerEncoderBase


@keras.saving.register_keras_serializable(package="official_encoders")
class BertEncoder(TransformerEncoderBase):
    """BERT: word/position/type embeddings, L Transformer blocks, tanh pooler on the first token.

    Call with {"input_word_ids", "input_mask", "input_type_ids"} (int32 [B, S]);
    returns {"pooled_output", "default", "sequence_output", "encoder_outputs"}.
    """

    family = "bert"
