"""Weight importers: Hugging Face safetensors, google-research TF1, our own TF2 checkpoints."""

from export.sources.report import CorruptWeightsFile, ImportReport, ImportResult
from export.sources.dispatch import detect_format, load_directory, load_source  # noqa: E402  (uses report)

__all__ = ["CorruptWeightsFile", "ImportReport", "ImportResult", "detect_format", "load_directory", "load_source"]
