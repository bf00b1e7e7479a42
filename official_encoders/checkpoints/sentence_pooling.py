"""A sentence-transformers directory's pooling: read from modules.json, 1_Pooling/config.json and Normalize.

What is supported: a `Transformer` module, then one `Pooling` module with any of
sentence-transformers' modes (`cls`, `max`, `mean`, `mean_sqrt_len_tokens`,
`weightedmean`, `lasttoken`, several concatenated in its order), with or without
`include_prompt`, then optionally a `Normalize` of `sentence_embedding`. Both
config spellings are read: `pooling_mode` (sentence-transformers >= 6) and the
older `pooling_mode_*_tokens` booleans. Anything else (a `Dense` module, an
unknown key, a non-boolean flag, a dimension other than the encoder's) is
refused with an error naming it, since exporting without it would give
embeddings the model was not trained to produce.
"""

import dataclasses
import json
import pathlib
from typing import Optional, Tuple

from official_encoders.layers.masked_pooling import POOLING_MODES, MaskedPooling

# The older boolean keys, in the order sentence-transformers concatenates their modes.
LEGACY_MODE_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
DIMENSION_KEYS = ("embedding_dimension", "word_embedding_dimension")
POOLING_KEYS = (*DIMENSION_KEYS, "pooling_mode", "include_prompt", *LEGACY_MODE_KEYS)
_DESCRIPTIONS = {
    "cls": "the first token", "max": "the element-wise maximum over the tokens",
    "mean": "the mean over the tokens", "mean_sqrt_len_tokens": "the sum over the tokens / sqrt(token count)",
    "weightedmean": "the position-weighted mean over the tokens", "lasttoken": "the last token",
}


@dataclasses.dataclass(frozen=True)
class SentencePooling:
    """How a sentence-transformers model turns `sequence_output` into its sentence embedding.

    Args:
      modes: pooling modes (`layers.masked_pooling.POOLING_MODES`), concatenated in this order.
      normalize: whether a Normalize module L2-normalises the result.
      include_prompt: False if prompt tokens are left out of the pooling (they are
        only known to a caller that adds a prompt; the exported SavedModel pools
        every token under `input_mask`).

    Example:

    >>> from official_encoders.checkpoints.sentence_pooling import SentencePooling
    >>> pooling = SentencePooling(modes=("mean",), normalize=True)
    >>> SentencePooling.from_dict(pooling.to_dict()) == pooling
    True
    >>> pooling.describe()
    'the mean over the tokens under input_mask, then L2-normalised'
    """

    modes: Tuple[str, ...] = ("mean",)
    normalize: bool = False
    include_prompt: bool = True

    def __post_init__(self):
        modes = (self.modes,) if isinstance(self.modes, str) else tuple(self.modes)
        object.__setattr__(self, "modes", modes)
        unknown = [m for m in modes if m not in POOLING_MODES]
        if not modes or unknown:
            raise ValueError(f"sentence pooling modes {modes!r}: use one or more of {', '.join(POOLING_MODES)}.")
        for name in ("normalize", "include_prompt"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"sentence pooling {name} must be true or false, not {getattr(self, name)!r}.")

    def to_dict(self):
        return {"modes": list(self.modes), "normalize": self.normalize, "include_prompt": self.include_prompt}

    @classmethod
    def from_dict(cls, data):
        """The inverse of to_dict; a missing or None record is None (a model without sentence pooling)."""
        if data is None:
            return None
        if isinstance(data, str):
            data = json.loads(data)
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ValueError(f"sentence pooling record has unknown keys {unknown}; expected {sorted(fields)}.")
        return cls(**data)

    def layer(self, **kwargs):
        """The Keras layer computing this pooling over (sequence_output, input_mask)."""
        return MaskedPooling(modes=self.modes, normalize=self.normalize, **kwargs)

    def describe(self):
        text = ", concatenated with ".join(_DESCRIPTIONS[m] for m in self.modes) + " under input_mask"
        return text + (", then L2-normalised" if self.normalize else "")


def _module_kind(module, modules_file):
    kind = module.get("type") if isinstance(module, dict) else None
    if not isinstance(kind, str):
        raise ValueError(f"{modules_file}: every module needs a 'type' string; got {module!r}.")
    return kind.rsplit(".", 1)[-1]


def _read_json(path, what):
    try:
        return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: cannot read the {what} ({e}).") from e


def _pooling_from_config(config_file, hidden_size):
    config = _read_json(config_file, "sentence-transformers Pooling config")
    if not isinstance(config, dict):
        raise ValueError(f"{config_file}: a Pooling config is a JSON object, not {type(config).__name__}.")
    for key in config:
        if key not in POOLING_KEYS:
            raise ValueError(f"{config_file}: unsupported Pooling key {key!r}; official_encoders reads "
                             f"{', '.join(POOLING_KEYS)}. Remove it if it does not change the pooling.")
    for key in ("include_prompt", *LEGACY_MODE_KEYS):
        if key in config and not isinstance(config[key], bool):
            raise ValueError(f"{config_file}: {key!r} must be true or false, not {config[key]!r}.")
    for key in DIMENSION_KEYS:
        if key in config and hidden_size is not None and config[key] != hidden_size:
            raise ValueError(f"{config_file}: {key!r} is {config[key]!r} but the encoder's hidden_size is "
                             f"{hidden_size}; this Pooling module belongs to another model.")
    if "pooling_mode" in config:  # what sentence-transformers does: it wins over the older keys
        modes = config["pooling_mode"]
        modes = [modes] if isinstance(modes, str) else modes
        if not isinstance(modes, list) or not modes or not all(isinstance(m, str) for m in modes):
            raise ValueError(f"{config_file}: 'pooling_mode' must be a mode name or a list of them, "
                             f"not {config['pooling_mode']!r}.")
        unknown = [m for m in modes if m not in POOLING_MODES]
        if unknown:
            raise ValueError(f"{config_file}: 'pooling_mode' {unknown[0]!r} is not a sentence-transformers "
                             f"pooling mode; use one of {', '.join(POOLING_MODES)}.")
    else:
        modes = [mode for key, mode in LEGACY_MODE_KEYS.items() if config.get(key)] or ["mean"]
    return tuple(modes), config.get("include_prompt", True)


def _check_normalize(module_dir, modules_file):
    config_file = module_dir / "config.json"
    if not config_file.exists():  # older versions save no config: the default, sentence_embedding
        return
    config = _read_json(config_file, "sentence-transformers Normalize config")
    for key in ("module_input_name", "module_output_name"):
        value = config.get(key, "sentence_embedding") if isinstance(config, dict) else None
        if value not in ("sentence_embedding", None):
            raise ValueError(f"{config_file}: Normalize {key!r} is {value!r}; only a Normalize of "
                             f"'sentence_embedding' is supported ({modules_file}).")


def read_sentence_pooling(directory, hidden_size=None) -> Optional[SentencePooling]:
    """The SentencePooling of a sentence-transformers directory, or None without modules.json or Pooling.

    Args:
      directory: the model directory (the one holding `modules.json`).
      hidden_size: the encoder's; a Pooling dimension other than it is an error.

    Example:

        read_sentence_pooling("/models/all-MiniLM-L6-v2", hidden_size=384)
        # SentencePooling(modes=('mean',), normalize=True, include_prompt=True)
    """
    root = pathlib.Path(directory)
    modules_file = root / "modules.json"
    if not modules_file.exists():
        return None
    modules = _read_json(modules_file, "sentence-transformers module list")
    if not isinstance(modules, list):
        raise ValueError(f"{modules_file}: expected a JSON list of modules, got {type(modules).__name__}.")
    modes = include_prompt = None
    normalize = False
    for module in modules:
        kind = _module_kind(module, modules_file)
        module_dir = root / module.get("path", "")
        if kind == "Transformer" and modes is None:
            continue
        if kind == "Pooling" and modes is None:
            modes, include_prompt = _pooling_from_config(module_dir / "config.json", hidden_size)
        elif kind == "Normalize" and modes is not None and not normalize:
            _check_normalize(module_dir, modules_file)
            normalize = True
        else:
            raise ValueError(
                f"{modules_file}: module {module.get('type')!r} (path {module.get('path')!r}) is not supported "
                "here; official_encoders exports a Transformer, then one Pooling, then optionally one Normalize. "
                "Its sentence embeddings would need this module, so the export is refused.")
    if modes is None:
        return None
    return SentencePooling(modes=modes, normalize=normalize, include_prompt=include_prompt)
