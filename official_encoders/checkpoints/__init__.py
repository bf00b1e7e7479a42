"""Weight readers (Hugging Face safetensors, google-research TF1, our tf2 format) and from_pretrained.

Everything here reads; the only thing it writes is our own tf2 checkpoint format
(`tf2.save_pretrained`), because fine-tuning keeps its results in that form.
"""

from official_encoders.checkpoints.report import CorruptWeightsFile, ImportReport, ImportResult
from official_encoders.checkpoints.sources import (SOURCE_KINDS, detect_format, load_directory, load_source,
                                                   parse_source_spec)

__all__ = ["CorruptWeightsFile", "ImportReport", "ImportResult", "SOURCE_KINDS", "detect_format",
           "load_directory", "load_source", "parse_source_spec"]
