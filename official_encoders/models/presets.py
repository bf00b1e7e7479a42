"""The catalog: every encoder named on the TF Model Garden and TF Hub pages we follow.

Each entry has the published hyperparameters, how its text is preprocessed, its
TF-Hub-style name, the name of its companion preprocessor and the Hugging Face
shortcut aliases of the same weights. Fine-tuned entries also name their task
(one of `official_encoders.tasks.TASKS`). Lookup accepts a name or an alias.
"""

import dataclasses
import difflib

from official_encoders.models.configs import EncoderConfig

WORDPIECE_UNCASED = "wordpiece_uncased"
WORDPIECE_CASED = "wordpiece_cased"
SENTENCEPIECE = "sentencepiece"
PREPROCESSING_KINDS = (WORDPIECE_UNCASED, WORDPIECE_CASED, SENTENCEPIECE)

# Vocabulary sizes of the published checkpoints.
VOCAB_EN_UNCASED = 30522
VOCAB_EN_CASED = 28996
VOCAB_MULTI_CASED = 119547
VOCAB_MULTI_UNCASED = 105879
VOCAB_DE_CASED = 30000
VOCAB_ZH = 21128
VOCAB_ALBERT = 30000


@dataclasses.dataclass(frozen=True)
class Preset:
    """One catalog entry."""

    name: str  # TF-Hub-style name, e.g. "bert_en_uncased_L-12_H-768_A-12".
    config_dict: dict  # EncoderConfig fields (kept as a dict so entries stay immutable).
    preprocessing: str  # One of PREPROCESSING_KINDS.
    preprocessor: str  # TF-Hub-style name of the companion preprocessor.
    hf_aliases: tuple = ()  # Hugging Face shortcut names of the same weights.
    description: str = ""
    task: str = None  # fine-tuned entries: the task of their head (official_encoders.tasks.TASKS)
    num_labels: int = None  # and its number of classes, where the task does not fix it

    @property
    def config(self):
        """A fresh EncoderConfig for this entry."""
        return EncoderConfig.from_dict(dict(self.config_dict))

    @property
    def do_lower_case(self):
        """Whether the preprocessor lower-cases (None for SentencePiece, which decides itself)."""
        if self.preprocessing == SENTENCEPIECE:
            return None
        return self.preprocessing == WORDPIECE_UNCASED


def _config(family, vocab_size, num_layers, hidden_size, num_heads, intermediate_size=None, **overrides):
    config = dict(
        family=family,
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        num_heads=num_heads,
        intermediate_size=intermediate_size or 4 * hidden_size,
        # google-research modeling.py and TF Model Garden use the tanh-approximated GELU.
        hidden_act="gelu_approximate",
        hidden_dropout=0.1,
        attention_dropout=0.1,
        max_position_embeddings=512,
        type_vocab_size=2,
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        embedding_size=None,
        attention_kind="standard",
        feedforward_kind="dense",
        has_pooler=True,
    )
    config.update(overrides)
    return config


def _lh(num_layers, hidden_size, num_heads):
    return f"L-{num_layers}_H-{hidden_size}_A-{num_heads}"


def _bert_presets():
    out = []
    # (language/casing tag, vocab, preprocessing, preprocessor, sizes, HF alias per size)
    base, large = (12, 768, 12), (24, 1024, 16)
    english = [
        ("en_uncased", VOCAB_EN_UNCASED, WORDPIECE_UNCASED, "bert_en_uncased_preprocess",
         {base: ("bert-base-uncased", "google-bert/bert-base-uncased"),
          large: ("bert-large-uncased", "google-bert/bert-large-uncased")}),
        ("en_cased", VOCAB_EN_CASED, WORDPIECE_CASED, "bert_en_cased_preprocess",
         {base: ("bert-base-cased", "google-bert/bert-base-cased"),
          large: ("bert-large-cased", "google-bert/bert-large-cased")}),
    ]
    for tag, vocab, kind, preprocessor, aliases in english:
        for size in (base, large):
            out.append(Preset(
                name=f"bert_{tag}_{_lh(*size)}",
                config_dict=_config("bert", vocab, *size),
                preprocessing=kind,
                preprocessor=preprocessor,
                hf_aliases=aliases[size],
                description=f"BERT {'base' if size == base else 'large'}, English, {tag.split('_')[1]}.",
            ))
    for tag, vocab, kind, preprocessor in (
        ("uncased", VOCAB_EN_UNCASED, WORDPIECE_UNCASED, "bert_en_uncased_preprocess"),
        ("cased", VOCAB_EN_CASED, WORDPIECE_CASED, "bert_en_cased_preprocess"),
    ):
        out.append(Preset(
            name=f"bert_en_wwm_{tag}_{_lh(*large)}",
            config_dict=_config("bert", vocab, *large),
            preprocessing=kind,
            preprocessor=preprocessor,
            hf_aliases=(f"bert-large-{tag}-whole-word-masking",
                        f"google-bert/bert-large-{tag}-whole-word-masking"),
            description=f"BERT large, English, {tag}, trained with whole-word masking.",
        ))
    # (name tag, vocab, preprocessing, HF alias, description): the other base-sized vocabularies.
    for tag, vocab, kind, alias, description in (
        ("multi_cased", VOCAB_MULTI_CASED, WORDPIECE_CASED, "bert-base-multilingual-cased",
         "BERT base, 104 languages, cased."),
        ("multi_uncased", VOCAB_MULTI_UNCASED, WORDPIECE_UNCASED, "bert-base-multilingual-uncased",
         "BERT base, 102 languages, uncased (Google recommends the cased model instead)."),
        ("de_cased", VOCAB_DE_CASED, WORDPIECE_CASED, "bert-base-german-cased", "BERT base, German, cased."),
        # Google's Chinese checkpoint is used with do_lower_case=True.
        ("zh", VOCAB_ZH, WORDPIECE_UNCASED, "bert-base-chinese",
         "BERT base, Chinese (simplified and traditional)."),
    ):
        out.append(Preset(
            name=f"bert_{tag}_{_lh(*base)}",
            config_dict=_config("bert", vocab, *base),
            preprocessing=kind,
            preprocessor=f"bert_{tag}_preprocess",
            hf_aliases=(alias, f"google-bert/{alias}"),
            description=description,
        ))
    return out


def _finetuned_presets():
    """The fine-tuned checkpoints of Hugging Face's BERT table, named `<task data>/<base entry name>`."""
    large = _lh(24, 1024, 16)
    out = [Preset(
        name=f"finetuned_mrpc/bert_en_cased_{_lh(12, 768, 12)}",
        config_dict=_config("bert", VOCAB_EN_CASED, 12, 768, 12),
        preprocessing=WORDPIECE_CASED,
        preprocessor="bert_en_cased_preprocess",
        hf_aliases=("bert-base-cased-finetuned-mrpc", "google-bert/bert-base-cased-finetuned-mrpc"),
        description="BERT base, English, cased, fine-tuned on MRPC (paraphrase: sentence-pair classification).",
        task="sequence_classification",
        num_labels=2,
    )]
    for tag, vocab, kind, preprocessor in (
        ("uncased", VOCAB_EN_UNCASED, WORDPIECE_UNCASED, "bert_en_uncased_preprocess"),
        ("cased", VOCAB_EN_CASED, WORDPIECE_CASED, "bert_en_cased_preprocess"),
    ):
        out.append(Preset(
            name=f"finetuned_squad/bert_en_wwm_{tag}_{large}",
            config_dict=_config("bert", vocab, 24, 1024, 16),
            preprocessing=kind,
            preprocessor=preprocessor,
            hf_aliases=(f"bert-large-{tag}-whole-word-masking-finetuned-squad",
                        f"google-bert/bert-large-{tag}-whole-word-masking-finetuned-squad"),
            description=f"BERT large, English, {tag}, whole-word masking, fine-tuned on SQuAD v1.1 "
                        f"(extractive question answering).",
            task="question_answering",
        ))
    return out


def _small_bert_presets():
    out = []
    for num_layers in (2, 4, 6, 8, 10, 12):
        for hidden_size in (128, 256, 512, 768):
            num_heads = hidden_size // 64
            lh = _lh(num_layers, hidden_size, num_heads)
            out.append(Preset(
                name=f"small_bert/bert_en_uncased_{lh}",
                config_dict=_config("bert", VOCAB_EN_UNCASED, num_layers, hidden_size, num_heads),
                preprocessing=WORDPIECE_UNCASED,
                preprocessor="bert_en_uncased_preprocess",
                hf_aliases=(f"google/bert_uncased_{lh}",),
                description=f"Small BERT ({lh}), English, uncased, from 'Well-Read Students Learn Better'.",
            ))
    return out


def _variant_presets():
    out = []
    for label, size in (("base", (12, 768, 12)), ("large", (24, 1024, 16))):
        out.append(Preset(
            name=f"talkheads_ggelu_bert_en_{label}",
            config_dict=_config("bert", VOCAB_EN_UNCASED, *size,
                                attention_kind="talking_heads", feedforward_kind="gated_gelu"),
            preprocessing=WORDPIECE_UNCASED,
            preprocessor="bert_en_uncased_preprocess",
            description=f"BERT {label} with talking-heads attention and a gated-GELU feedforward.",
        ))
    out.append(Preset(
        name="lambert_en_uncased_L-24_H-1024_A-16",
        config_dict=_config("bert", VOCAB_EN_UNCASED, 24, 1024, 16),
        preprocessing=WORDPIECE_UNCASED,
        preprocessor="bert_en_uncased_preprocess",
        description="BERT large, English, uncased, pretrained with the LAMB optimizer and RoBERTa-style recipe.",
    ))
    return out


def _albert_presets():
    out = []
    for label, num_layers, hidden_size, num_heads in (
        ("base", 12, 768, 12),
        ("large", 24, 1024, 16),
        ("xlarge", 24, 2048, 16),
        ("xxlarge", 12, 4096, 64),
    ):
        out.append(Preset(
            name=f"albert_en_{label}",
            # The v2 checkpoints: tanh-approximated GELU, no dropout, factorized 128-wide embedding.
            config_dict=_config("albert", VOCAB_ALBERT, num_layers, hidden_size, num_heads,
                                hidden_act="gelu_approximate", hidden_dropout=0.0,
                                attention_dropout=0.0, embedding_size=128),
            preprocessing=SENTENCEPIECE,
            preprocessor="albert_en_preprocess",
            hf_aliases=(f"albert-{label}-v2", f"albert/albert-{label}-v2"),
            description=f"ALBERT {label} (v2), English; one Transformer block shared by all layers.",
        ))
    return out


def _electra_presets():
    out = []
    for label, num_layers, hidden_size, num_heads, embedding_size in (
        ("small", 12, 256, 4, 128),
        ("base", 12, 768, 12, 768),
        ("large", 24, 1024, 16, 1024),
    ):
        out.append(Preset(
            name=f"electra_{label}",
            config_dict=_config("electra", VOCAB_EN_UNCASED, num_layers, hidden_size, num_heads,
                                embedding_size=embedding_size if embedding_size != hidden_size else None),
            preprocessing=WORDPIECE_UNCASED,
            preprocessor="bert_en_uncased_preprocess",
            hf_aliases=(f"google/electra-{label}-discriminator",),
            description=f"ELECTRA {label} discriminator, English, uncased.",
        ))
    return out


def _catalog():
    presets = (_bert_presets() + _small_bert_presets() + _variant_presets()
               + _albert_presets() + _electra_presets() + _finetuned_presets())
    by_name = {}
    for preset in presets:
        for key in (preset.name,) + preset.hf_aliases:
            if key in by_name:
                raise AssertionError(f"catalog key {key!r} is used twice")
            by_name[key] = preset
    return tuple(presets), by_name


PRESETS, _BY_KEY = _catalog()


def preset_names():
    """TF-Hub-style names of every entry, in catalog order."""
    return [p.name for p in PRESETS]


def get_preset(name_or_alias):
    """The entry with this TF-Hub-style name or Hugging Face alias.

    Raises KeyError naming the close matches when there is none.
    """
    preset = _BY_KEY.get(name_or_alias)
    if preset is None:
        folded = {k.lower(): v for k, v in _BY_KEY.items()}
        preset = folded.get(str(name_or_alias).lower())
    if preset is None:
        close = difflib.get_close_matches(str(name_or_alias), list(_BY_KEY), n=5, cutoff=0.6)
        hint = f" Close matches: {', '.join(close)}." if close else ""
        raise KeyError(
            f"unknown encoder preset {name_or_alias!r}.{hint} "
            f"See official_encoders.models.presets.preset_names() for all {len(PRESETS)} names.")
    return preset


# Fields that fix the architecture and the weights' shapes. Dropout, initializer
# and the GELU flavour (Hugging Face configs say exact GELU for the same weights)
# do not distinguish one published model from another.
_ARCHITECTURE_FIELDS = (
    "family", "vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size",
    "max_position_embeddings", "type_vocab_size", "embedding_size",
    "attention_kind", "feedforward_kind",
)


def _architecture(config_dict):
    d = dict(config_dict)
    if d.get("embedding_size") in (None, d.get("hidden_size")):
        d["embedding_size"] = None
    return tuple(d.get(f) for f in _ARCHITECTURE_FIELDS)


def find_preset(config, do_lower_case=None):
    """The first catalog entry with the same architecture as `config`, or None.

    Several entries share an architecture (BERT large uncased, its whole-word-masking
    and LAMBERT twins); the catalog order puts the original release first. Fine-tuned
    entries are never returned: an encoder is named after its pretrained entry.
    `do_lower_case`, when known, rules out entries with the other casing.
    """
    wanted = _architecture(config.to_dict())
    for preset in PRESETS:
        if preset.task is not None or _architecture(preset.config_dict) != wanted:
            continue
        if do_lower_case is not None and preset.do_lower_case not in (None, do_lower_case):
            continue
        return preset
    return None


_VOCAB_LANGUAGE = {
    VOCAB_EN_UNCASED: "en_uncased",
    VOCAB_EN_CASED: "en_cased",
    VOCAB_MULTI_CASED: "multi_cased",
    VOCAB_MULTI_UNCASED: "multi_uncased",
    VOCAB_ZH: "zh",
    VOCAB_ALBERT: "en",
}
# Sizes two vocabularies share: German BERT's and ALBERT's are both 30000.
_FAMILY_VOCAB_LANGUAGE = {("bert", VOCAB_DE_CASED): "de_cased"}


def name_for_config(config, do_lower_case=None):
    """The TF-Hub-style name for a model with this config (the exporter's default --name).

    The catalog's name when the architecture is in the catalog; otherwise one
    composed the same way, e.g. "bert_en_uncased_L-6_H-384_A-12" for all-MiniLM-L6-v2.
    """
    preset = find_preset(config, do_lower_case)
    if preset is not None:
        return preset.name
    parts = [config.family]
    language = _FAMILY_VOCAB_LANGUAGE.get((config.family, config.vocab_size),
                                          _VOCAB_LANGUAGE.get(config.vocab_size))
    if language is None and do_lower_case is not None:
        language = "uncased" if do_lower_case else "cased"
    if language:
        parts.append(language)
    if config.attention_kind == "talking_heads":
        parts.insert(0, "talkheads")
    if config.feedforward_kind == "gated_gelu":
        parts.insert(1 if config.attention_kind == "talking_heads" else 0, "ggelu")
    parts.append(_lh(config.num_layers, config.hidden_size, config.num_heads))
    return "_".join(parts)
