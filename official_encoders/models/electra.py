"""ElectraEncoder: the ELECTRA discriminator/generator body (BERT with an embedding projection)."""

import keras
import numpy as np

from official_encoders.models.encoder_base import TransformerEncoderBase


@keras.saving.register_keras_serializable(package="official_encoders")
class ElectraEncoder(TransformerEncoderBase):
    """ELECTRA: BERT blocks over embeddings of width embedding_size, projected
    when that differs from hidden_size. ELECTRA checkpoints have no pooler, so
    `pooler_transform` starts as the identity with zero bias (pooled_output =
    tanh(first token), as the TF-Hub ELECTRA models); an importer overwrites it
    when the source has one.

    Args:
      config: an `EncoderConfig` (or its `to_dict()` form) with family "electra".
      check_inputs: whether the graph checks id ranges, mask values and shapes and names
        the bad input; False for pipelines that validate upstream (TPU-style). The
        `max_position_embeddings` limit is checked either way.
      **kwargs: passed to `keras.Model` (`name`, `dtype`, ...).

    Example:
    >>> import numpy as np
    >>> from official_encoders import ElectraEncoder, EncoderConfig
    >>> encoder = ElectraEncoder(EncoderConfig(family="electra", vocab_size=100, hidden_size=16,
    ...                                        embedding_size=8, num_layers=2, num_heads=2,
    ...                                        intermediate_size=32))
    >>> ids = np.array([[2, 7, 3]], "int32")
    >>> out = encoder({"input_word_ids": ids, "input_mask": np.ones_like(ids),
    ...                "input_type_ids": np.zeros_like(ids)})
    >>> bool(np.allclose(out["pooled_output"], np.tanh(out["sequence_output"][:, 0]), atol=1e-6))
    True
    """

    family = "electra"
    not_in_checkpoints = ("pooler_transform",)

    def _create_variables(self):
        super()._create_variables()
        if self.pooler_transform is not None:
            self.pooler_transform.kernel.assign(np.eye(self.config.hidden_size, dtype="float32"))
            self.pooler_transform.bias.assign(np.zeros(self.config.hidden_size, dtype="float32"))
