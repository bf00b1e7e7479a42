"""The encoders, their configs and catalog, and the pretraining views (.mlm, .rtd)."""

from official_encoders.models.albert import AlbertEncoder
from official_encoders.models.bert import BertEncoder
from official_encoders.models.configs import EncoderConfig
from official_encoders.models.electra import ElectraEncoder
from official_encoders.models.pretrainer import EncoderWithMaskedLM, EncoderWithRtd

_ENCODER_CLASSES = {"bert": BertEncoder, "albert": AlbertEncoder, "electra": ElectraEncoder}


def build_encoder(config, **kwargs):
    """A new encoder (random weights) of the class for `config.family`.

    Args:
      config: an `EncoderConfig`, or a dict in its `to_dict()` form.
      **kwargs: passed to the encoder (e.g. `check_inputs=False`, `name=`).

    Example:
    >>> from official_encoders import EncoderConfig, build_encoder
    >>> encoder = build_encoder(EncoderConfig(vocab_size=100, hidden_size=16, num_layers=2,
    ...                                       num_heads=2, intermediate_size=32))
    >>> import numpy as np
    >>> ids = np.array([[2, 5, 3]], "int32")
    >>> sorted(encoder({"input_word_ids": ids, "input_mask": np.ones_like(ids),
    ...                 "input_type_ids": np.zeros_like(ids)}))
    ['default', 'encoder_outputs', 'pooled_output', 'sequence_output']
    """
    if not isinstance(config, EncoderConfig):
        config = EncoderConfig.from_dict(config)
    config.validate()
    return _ENCODER_CLASSES[config.family](config, **kwargs)


__all__ = ["AlbertEncoder", "BertEncoder", "ElectraEncoder", "EncoderConfig", "EncoderWithMaskedLM",
           "EncoderWithRtd", "build_encoder"]
