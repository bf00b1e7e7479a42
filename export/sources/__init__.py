"""Weight importers: Hugging Face safetensors, google-research TF1, our own TF2 checkpoints."""

from export.sources.report import ImportReport, ImportResult

__all__ = ["ImportReport", "ImportResult"]
