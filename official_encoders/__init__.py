"""Keras 3 BERT, ALBERT and ELECTRA text encoders in the TF-Hub style."""

from official_encoders.resolver import resolve  # noqa: E402  (integrity-checked handle -> path)
from official_encoders.hub_layer import HubLayer  # noqa: E402
