"""ElectraEncoder: the ELECTRA discriminator/generator body (BERT with an embedding projection)."""

import keras
import numpy as np

from official_encoders.encoder_base import TransformerEncoderBase


@keras.saving.register_keras_serializable(package="official_encoders")
class ElectraEncoder(TransformerEncoderBase):
    """ELECTRA: BERT blocks over embeddings of width embedding_size, projected
    when that differs from hidden_size. ELECTRA checkpoints have no pooler, so
    `pooler_transform` starts as the identity with zero bias (pooled_output =
    tanh(first token), as the TF-Hub ELECTRA models); an importer overwrites it
    when the source has one."""

    family = "electra"

    def _create_variables(self):
        super()._create_variables()
        if self.pooler_transform is not None:
            self.pooler_transform.kernel.assign(np.eye(self.config.hidden_size, dtype="float32"))
            self.pooler_transform.bias.assign(np.zeros(self.config.hidden_size, dtype="float32"))
