"""Keras 3 BERT, ALBERT and ELECTRA text encoders in the TF-Hub style."""

from official_encoders.albert import AlbertEncoder
from official_encoders.bert import BertEncoder
from official_encoders.configs import EncoderConfig
from official_encoders.electra import ElectraEncoder
from official_encoders.from_pretrained import from_pretrained
from official_encoders.masked_lm import MaskedLMHead
from official_encoders.pretrainer import EncoderWithMaskedLM, EncoderWithRtd
from official_encoders.resolver import resolve  # handle -> integrity-checked local path
from official_encoders.hub_layer import HubLayer

_ENCODER_CLASSES = {"bert": BertEncoder, "albert": AlbertEncoder, "electra": ElectraEncoder}


def build_encoder(config, **kwargs):
    """A new encoder (random weights) of the class for config.family; kwargs go to keras.Model."""
    if not isinstance(config, EncoderConfig):
        config = EncoderConfig.from_dict(config)
    config.validate()
    return _ENCODER_CLASSES[config.family](config, **kwargs)


__all__ = [
    "AlbertEncoder", "BertEncoder", "ElectraEncoder", "EncoderConfig", "EncoderWithMaskedLM",
    "EncoderWithRtd", "HubLayer", "MaskedLMHead", "build_encoder", "from_pretrained",
    "resolve",
]
