"""The masked-LM head (public home of MaskedLMHead; implemented in layers/masked_lm.py)."""

from official_encoders.layers.masked_lm import MaskedLMHead

__all__ = ["MaskedLMHead"]
