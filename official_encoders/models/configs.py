"""EncoderConfig: one dataclass describing every BERT, ALBERT and ELECTRA encoder.

It reads and writes the three config formats we meet in the wild:
google-research `bert_config.json` (BERT and ALBERT; ELECTRA uses the BERT
format), and Hugging Face `config.json` (model_type bert, albert, electra).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Mapping, Optional, Union

FAMILIES = ("bert", "albert", "electra")
HIDDEN_ACTS = ("gelu", "gelu_approximate", "relu")
ATTENTION_KINDS = ("standard", "talking_heads")
FEEDFORWARD_KINDS = ("dense", "gated_gelu")

# google-research modeling.py (BERT, ALBERT, ELECTRA) defines "gelu" as the tanh
# approximation; Hugging Face defines "gelu" as the exact erf form.
_BERT_JSON_ACT_IN = {
    "gelu": "gelu_approximate",
    "gelu_new": "gelu_approximate",
    "gelu_approximate": "gelu_approximate",
    "gelu_exact": "gelu",
    "relu": "relu",
}
_BERT_JSON_ACT_OUT = {"gelu_approximate": "gelu", "gelu": "gelu_exact", "relu": "relu"}
_HF_ACT_IN = {
    "gelu": "gelu",
    "gelu_python": "gelu",
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "gelu_fast": "gelu_approximate",
    "relu": "relu",
}
_HF_ACT_OUT = {"gelu": "gelu", "gelu_approximate": "gelu_new", "relu": "relu"}
_HF_ARCHITECTURES = {"bert": "BertModel", "albert": "AlbertModel", "electra": "ElectraModel"}

PathOrDict = Union[str, os.PathLike, Mapping[str, Any]]


def _load_json(source: PathOrDict) -> dict:
    if isinstance(source, Mapping):
        return dict(source)
    path = os.fspath(source)
    if os.path.isdir(path):
        path = os.path.join(path, "config.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _shared_json_fields(d, what):
    """The fields google-research and Hugging Face configs spell the same way."""
    return dict(
        vocab_size=_require(d, "vocab_size", what),
        hidden_size=_require(d, "hidden_size", what),
        num_layers=_require(d, "num_hidden_layers", what),
        num_heads=_require(d, "num_attention_heads", what),
        intermediate_size=_require(d, "intermediate_size", what),
        hidden_dropout=float(d.get("hidden_dropout_prob", 0.1)),
        attention_dropout=float(d.get("attention_probs_dropout_prob", 0.1)),
        max_position_embeddings=d.get("max_position_embeddings", 512),
        type_vocab_size=d.get("type_vocab_size", 2),
        initializer_range=float(d.get("initializer_range", 0.02)),
        layer_norm_eps=float(d.get("layer_norm_eps", 1e-12)),
        num_hidden_groups=d.get("num_hidden_groups", 1),
        inner_group_num=d.get("inner_group_num", 1),
    )


def _require(d: Mapping[str, Any], key: str, what: str):
    if key not in d:
        raise ValueError(f"{what} has no '{key}'; present keys: {sorted(d)}")
    return d[key]


@dataclasses.dataclass(frozen=True)
class EncoderConfig:
    """Architecture of one encoder, for every family. Frozen: derive variants with `.replace(...)`.

    Args (fields):
      family: "bert", "albert" or "electra".
      vocab_size, hidden_size, num_layers, num_heads, intermediate_size: the sizes.
      hidden_act: "gelu" (exact), "gelu_approximate" (tanh form), "relu", ...
      hidden_dropout, attention_dropout: dropout rates used with `training=True`.
      max_position_embeddings: the longest sequence the encoder accepts.
      type_vocab_size: number of segment types.
      initializer_range, layer_norm_eps: initialisation and layer-norm epsilon.
      embedding_size: factorised embedding width (ALBERT, ELECTRA); None = hidden_size.
      attention_kind: "standard" or "talking_heads"; feedforward_kind: "dense" or
        "gated_gelu".
      has_pooler: whether a tanh pooler produces `pooled_output`.

    `validate()` names a bad field and what is allowed. The readers take every config
    format we meet: `from_dict`/`from_json` (ours), `from_bert_config_json`
    (google-research BERT/ALBERT) and `from_hf_config` (Hugging Face config.json).

    Example:
    >>> from official_encoders import EncoderConfig
    >>> config = EncoderConfig.from_hf_config({"model_type": "bert", "vocab_size": 100,
    ...     "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
    ...     "intermediate_size": 32})
    >>> config.num_layers, config.replace(num_layers=4).num_layers
    (2, 4)
    """

    family: str = "bert"
    vocab_size: int = 30522
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    embedding_size: Optional[int] = None
    attention_kind: str = "standard"
    feedforward_kind: str = "dense"
    has_pooler: bool = True
    # ALBERT only: we implement the published models, which all share one block.
    num_hidden_groups: int = 1
    inner_group_num: int = 1

    # ---- derived properties -------------------------------------------------
    @property
    def resolved_embedding_size(self) -> int:
        """Width of the word-embedding table (hidden_size unless factorized)."""
        return self.embedding_size if self.embedding_size is not None else self.hidden_size

    @property
    def has_embedding_projection(self) -> bool:
        """ALBERT always projects; BERT/ELECTRA only when the embedding is narrower/wider."""
        return self.family == "albert" or self.resolved_embedding_size != self.hidden_size

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_heads

    def replace(self, **changes) -> "EncoderConfig":
        return dataclasses.replace(self, **changes)

    # ---- validation -----------------------------------------------------------
    def validate(self) -> "EncoderConfig":
        """Raise ValueError naming the bad field and what is allowed; return self."""

        def choice(field, allowed):
            value = getattr(self, field)
            if value not in allowed:
                raise ValueError(f"EncoderConfig.{field}={value!r} is not supported; allowed: {list(allowed)}")

        def positive_int(field):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"EncoderConfig.{field}={value!r} must be a positive int")

        def probability(field):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"EncoderConfig.{field}={value!r} must be a float in [0, 1)")

        choice("family", FAMILIES)
        choice("hidden_act", HIDDEN_ACTS)
        choice("attention_kind", ATTENTION_KINDS)
        choice("feedforward_kind", FEEDFORWARD_KINDS)
        for field in ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size",
                      "max_position_embeddings", "type_vocab_size", "num_hidden_groups", "inner_group_num"):
            positive_int(field)
        if self.embedding_size is not None:
            positive_int("embedding_size")
        probability("hidden_dropout")
        probability("attention_dropout")
        for field in ("initializer_range", "layer_norm_eps"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"EncoderConfig.{field}={value!r} must be a positive float")
        if not isinstance(self.has_pooler, bool):
            raise ValueError(f"EncoderConfig.has_pooler={self.has_pooler!r} must be a bool")
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"EncoderConfig.hidden_size={self.hidden_size} must be divisible by "
                f"num_heads={self.num_heads}")
        if self.num_hidden_groups != 1 or self.inner_group_num != 1:
            raise ValueError(
                f"EncoderConfig.num_hidden_groups={self.num_hidden_groups} and inner_group_num="
                f"{self.inner_group_num}: only 1 and 1 (one block shared by all layers, as in every "
                f"published ALBERT) are supported")
        return self

    # ---- our own JSON form -----------------------------------------------------
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "EncoderConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"EncoderConfig.from_dict: unknown keys {unknown}; known: {sorted(known)}")
        return cls(**dict(d)).validate()

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "EncoderConfig":
        return cls.from_dict(json.loads(text))

    # ---- google-research bert_config.json / albert_config.json -------------------
    @classmethod
    def from_bert_config_json(cls, source: PathOrDict, family: Optional[str] = None) -> "EncoderConfig":
        """Read a google-research bert_config.json or albert_config.json (path or dict).

        The family is ALBERT when the file has ALBERT-only keys (num_hidden_groups,
        inner_group_num, net_structure_type) unless `family` says otherwise.
        """
        d = _load_json(source)
        what = "bert_config.json"
        if family is None:
            family = d.get("family")
        if family is None:
            albert_keys = {"num_hidden_groups", "inner_group_num", "net_structure_type", "down_scale_factor"}
            family = "albert" if albert_keys & set(d) else "bert"
        act = _require(d, "hidden_act", what)
        if act not in _BERT_JSON_ACT_IN:
            raise ValueError(f"{what}: hidden_act={act!r} is not supported; allowed: {sorted(_BERT_JSON_ACT_IN)}")
        return cls(
            family=family,
            hidden_act=_BERT_JSON_ACT_IN[act],
            embedding_size=d.get("embedding_size"),
            attention_kind=d.get("attention_kind", "standard"),
            feedforward_kind=d.get("feedforward_kind", "dense"),
            has_pooler=bool(d.get("has_pooler", True)),
            **_shared_json_fields(d, what),
        ).validate()

    def to_bert_config_json(self) -> dict:
        """The google-research dict. Non-standard fields are written only when not default."""
        d = {
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_layers,
            "num_attention_heads": self.num_heads,
            "intermediate_size": self.intermediate_size,
            "hidden_act": _BERT_JSON_ACT_OUT[self.hidden_act],
            "hidden_dropout_prob": self.hidden_dropout,
            "attention_probs_dropout_prob": self.attention_dropout,
            "max_position_embeddings": self.max_position_embeddings,
            "type_vocab_size": self.type_vocab_size,
            "initializer_range": self.initializer_range,
        }
        if self.layer_norm_eps != 1e-12:
            d["layer_norm_eps"] = self.layer_norm_eps
        if self.embedding_size is not None:
            d["embedding_size"] = self.embedding_size
        if self.family == "albert":
            d["num_hidden_groups"] = self.num_hidden_groups
            d["inner_group_num"] = self.inner_group_num
        else:
            d["family"] = self.family
        if self.attention_kind != "standard":
            d["attention_kind"] = self.attention_kind
        if self.feedforward_kind != "dense":
            d["feedforward_kind"] = self.feedforward_kind
        if not self.has_pooler:
            d["has_pooler"] = False
        return d

    # ---- Hugging Face config.json -------------------------------------------------
    @classmethod
    def from_hf_config(cls, source: PathOrDict) -> "EncoderConfig":
        """Read a Hugging Face config.json (path, directory or dict) of model_type bert/albert/electra."""
        d = _load_json(source)
        what = "Hugging Face config.json"
        model_type = _require(d, "model_type", what)
        if model_type not in FAMILIES:
            raise ValueError(f"{what}: model_type={model_type!r} is not supported; allowed: {list(FAMILIES)}")
        position_type = d.get("position_embedding_type", "absolute")
        if position_type != "absolute":
            raise ValueError(f"{what}: position_embedding_type={position_type!r} is not supported; only 'absolute'")
        act = d.get("hidden_act", "gelu")
        if act not in _HF_ACT_IN:
            raise ValueError(f"{what}: hidden_act={act!r} is not supported; allowed: {sorted(_HF_ACT_IN)}")
        embedding_size = d.get("embedding_size")
        if model_type == "bert":
            embedding_size = None
        elif embedding_size == d.get("hidden_size") and model_type == "electra":
            embedding_size = None
        return cls(
            family=model_type,
            hidden_act=_HF_ACT_IN[act],
            embedding_size=embedding_size,
            has_pooler=True,
            **_shared_json_fields(d, what),
        ).validate()

    def to_hf_config(self) -> dict:
        """The Hugging Face config.json dict for this architecture."""
        if self.attention_kind != "standard" or self.feedforward_kind != "dense":
            raise ValueError(
                f"EncoderConfig.attention_kind={self.attention_kind!r} / feedforward_kind="
                f"{self.feedforward_kind!r} have no Hugging Face equivalent; only 'standard'/'dense'")
        d = {
            "model_type": self.family,
            "architectures": [_HF_ARCHITECTURES[self.family]],
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_layers,
            "num_attention_heads": self.num_heads,
            "intermediate_size": self.intermediate_size,
            "hidden_act": _HF_ACT_OUT[self.hidden_act],
            "hidden_dropout_prob": self.hidden_dropout,
            "attention_probs_dropout_prob": self.attention_dropout,
            "max_position_embeddings": self.max_position_embeddings,
            "type_vocab_size": self.type_vocab_size,
            "initializer_range": self.initializer_range,
            "layer_norm_eps": self.layer_norm_eps,
            "position_embedding_type": "absolute",
        }
        if self.family != "bert":
            d["embedding_size"] = self.resolved_embedding_size
        elif self.embedding_size is not None and self.embedding_size != self.hidden_size:
            raise ValueError(
                f"EncoderConfig.embedding_size={self.embedding_size}: Hugging Face BERT has no factorized "
                f"embedding; use family 'electra' or 'albert'")
        if self.family == "albert":
            d["num_hidden_groups"] = self.num_hidden_groups
            d["inner_group_num"] = self.inner_group_num
        return d
