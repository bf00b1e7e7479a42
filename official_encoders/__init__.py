"""Keras 3 BERT, ALBERT and ELECTRA text encoders in the TF-Hub style.

This package is the façade users import; the code lives in its subpackages:
`models` (configs, catalog, encoders, pretraining heads), `layers`,
`checkpoints` (weight readers, our tf2 format, from_pretrained), `hub` (the
hub format's read side: manifest check, resolve, HubLayer), `finetune` and
`embed` (`encode`: texts to sentence vectors, and its CLI).
"""

from official_encoders.checkpoints.from_pretrained import from_pretrained
from official_encoders.embed import encode
from official_encoders.hub.hub_layer import HubLayer
from official_encoders.hub.resolver import resolve
from official_encoders.layers.masked_lm import MaskedLMHead
from official_encoders.models import (AlbertEncoder, BertEncoder, ElectraEncoder, EncoderConfig,
                                      EncoderWithMaskedLM, EncoderWithRtd, build_encoder)

__all__ = [
    "AlbertEncoder", "BertEncoder", "ElectraEncoder", "EncoderConfig", "EncoderWithMaskedLM",
    "EncoderWithRtd", "HubLayer", "MaskedLMHead", "build_encoder", "encode", "from_pretrained",
    "resolve",
]
