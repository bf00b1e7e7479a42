"""What every importer returns: the model it built and a report of what it loaded."""

import dataclasses
from typing import Any, List, Optional

from official_encoders.checkpoints.sentence_pooling import SentencePooling
from official_encoders.checkpoints.identity import SourceIdentity
from official_encoders.models.configs import EncoderConfig


class CorruptWeightsFile(ValueError):
    """A weights file that is truncated, malformed or inconsistent; the message names file and tensor."""


@dataclasses.dataclass
class ImportReport:
    """Source tensors by name: loaded (source -> target pairs), missing, unused."""

    loaded: List[tuple] = dataclasses.field(default_factory=list)  # (source name, target path)
    missing: List[tuple] = dataclasses.field(default_factory=list)  # (expected source name, target path)
    unused: List[str] = dataclasses.field(default_factory=list)  # source names nothing consumed
    tied: List[tuple] = dataclasses.field(default_factory=list)  # (source name, target path it duplicates)
    allowed_missing: List[tuple] = dataclasses.field(default_factory=list)  # missing, but allowed

    def summary(self) -> str:
        lines = [f"loaded {len(self.loaded)} tensors, {len(self.tied)} tied duplicates, "
                 f"{len(self.missing)} missing, {len(self.unused)} unused"]
        for source, target in self.missing:
            allowed = " (allowed)" if (source, target) in self.allowed_missing else ""
            lines.append(f"  missing: {source} -> {target}{allowed}")
        for source in self.unused:
            lines.append(f"  unused: {source}")
        return "\n".join(lines)


@dataclasses.dataclass
class ImportResult:
    """An imported model with everything the export needs to publish it."""

    config: EncoderConfig
    model: Any  # EncoderWithMaskedLM, EncoderWithRtd or the bare encoder
    encoder: Any  # the bare encoder inside `model` (the same object when model is bare)
    report: ImportReport
    vocab_file: Optional[str] = None
    sp_model_file: Optional[str] = None
    do_lower_case: Optional[bool] = None
    source_files: List[str] = dataclasses.field(default_factory=list)
    task_model: Any = None  # the task model asked for (official_encoders.tasks), sharing `encoder`
    source_task: Optional[str] = None  # the task whose head the source holds, whether loaded or not
    sentence_pooling: Optional[SentencePooling] = None  # a sentence-transformers model's pooling, else None
    identity: Optional[SourceIdentity] = None  # what the source calls itself (names the export)
    task_settings: Optional[dict] = None  # a fine-tuning run's task settings (tf2 sources), serving defaults
