"""Text -> sentence vectors for corpora: `encode`, `SentenceEncoder`, and `python -m official_encoders.embed`."""

from official_encoders.embed.encoder import EncodeResult, SentenceEncoder, encode

__all__ = ["EncodeResult", "SentenceEncoder", "encode"]
