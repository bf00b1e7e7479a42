"""Keras 3 BERT, ALBERT and ELECTRA text encoders in the TF-Hub style.

This package is the façade users import; the code lives in its subpackages:
`models` (configs, catalog, encoders, pretraining heads), `layers`,
`tasks` (task models), `checkpoints` (weight readers, our tf2 format, from_pretrained), `hub` (the
hub format's read side: manifest check, resolve, HubLayer) and `finetune`.
"""

from official_encoders.checkpoints.from_pretrained import from_pretrained
from official_encoders.hub.hub_layer import HubLayer
from official_encoders.hub.resolver import resolve
from official_encoders.layers.masked_lm import MaskedLMHead
from official_encoders.models import (AlbertEncoder, BertEncoder, ElectraEncoder, EncoderConfig,
                                      EncoderWithMaskedLM, EncoderWithRtd, build_encoder)
from official_encoders.tasks import (MultipleChoiceClassifier, NextSentencePredictor, SequenceClassifier,
                                     SpanLabeler, TokenClassifier, build_task_model)

__all__ = [
    "AlbertEncoder", "BertEncoder", "ElectraEncoder", "EncoderConfig", "EncoderWithMaskedLM",
    "EncoderWithRtd", "HubLayer", "MaskedLMHead", "MultipleChoiceClassifier", "NextSentencePredictor",
    "SequenceClassifier", "SpanLabeler", "TokenClassifier", "build_encoder", "build_task_model",
    "from_pretrained", "resolve",
]
