"""The catalog: every entry is a valid config with the published sizes, and lookup works."""

import pytest

from official_encoders.models import presets
from official_encoders.models.configs import EncoderConfig


def test_every_entry_validates_and_matches_its_name():
    for preset in presets.PRESETS:
        config = preset.config
        assert isinstance(config, EncoderConfig)
        config.validate()
        assert preset.preprocessing in presets.PREPROCESSING_KINDS
        assert preset.preprocessor.endswith("_preprocess")
        lh = f"L-{config.num_layers}_H-{config.hidden_size}_A-{config.num_heads}"
        if "_L-" in preset.name:
            assert preset.name.endswith(lh), preset.name


def test_names_and_aliases_are_unique_and_resolve():
    keys = [k for p in presets.PRESETS for k in (p.name,) + p.hf_aliases]
    assert len(keys) == len(set(keys))
    for preset in presets.PRESETS:
        for key in (preset.name,) + preset.hf_aliases:
            assert presets.get_preset(key) is preset
            assert presets.get_preset(key.upper()) is preset


def test_catalog_covers_the_published_models():
    names = set(presets.preset_names())
    expected = {
        "bert_en_uncased_L-12_H-768_A-12", "bert_en_uncased_L-24_H-1024_A-16",
        "bert_en_cased_L-12_H-768_A-12", "bert_en_cased_L-24_H-1024_A-16",
        "bert_en_wwm_uncased_L-24_H-1024_A-16", "bert_en_wwm_cased_L-24_H-1024_A-16",
        "bert_multi_cased_L-12_H-768_A-12", "bert_multi_uncased_L-12_H-768_A-12",
        "bert_de_cased_L-12_H-768_A-12", "bert_zh_L-12_H-768_A-12",
        "finetuned_mrpc/bert_en_cased_L-12_H-768_A-12",
        "finetuned_squad/bert_en_wwm_uncased_L-24_H-1024_A-16",
        "finetuned_squad/bert_en_wwm_cased_L-24_H-1024_A-16",
        "talkheads_ggelu_bert_en_base", "talkheads_ggelu_bert_en_large",
        "lambert_en_uncased_L-24_H-1024_A-16",
        "albert_en_base", "albert_en_large", "albert_en_xlarge", "albert_en_xxlarge",
        "electra_small", "electra_base", "electra_large",
    }
    expected |= {f"small_bert/bert_en_uncased_L-{l}_H-{h}_A-{h // 64}"
                 for l in (2, 4, 6, 8, 10, 12) for h in (128, 256, 512, 768)}
    assert expected <= names
    assert len(names) == len(expected)


@pytest.mark.parametrize("key, field_values", [
    ("bert-base-uncased", dict(vocab_size=30522, num_layers=12, hidden_size=768, intermediate_size=3072)),
    ("bert-large-cased", dict(vocab_size=28996, num_layers=24, hidden_size=1024, num_heads=16)),
    ("bert-base-multilingual-cased", dict(vocab_size=119547)),
    ("bert-base-chinese", dict(vocab_size=21128)),
    ("bert-base-multilingual-uncased", dict(vocab_size=105879, num_layers=12, hidden_size=768)),
    ("bert-base-german-cased", dict(family="bert", vocab_size=30000, num_layers=12, hidden_size=768)),
    ("bert-base-cased-finetuned-mrpc", dict(vocab_size=28996, num_layers=12, hidden_size=768)),
    ("bert-large-uncased-whole-word-masking-finetuned-squad", dict(vocab_size=30522, num_layers=24,
                                                                   hidden_size=1024)),
    ("bert-large-cased-whole-word-masking-finetuned-squad", dict(vocab_size=28996, num_layers=24,
                                                                 hidden_size=1024)),
    ("google/bert_uncased_L-4_H-256_A-4", dict(num_layers=4, hidden_size=256, num_heads=4, intermediate_size=1024)),
    ("albert-xxlarge-v2", dict(family="albert", vocab_size=30000, embedding_size=128, hidden_size=4096,
                               num_heads=64, intermediate_size=16384, num_layers=12)),
    ("google/electra-small-discriminator", dict(family="electra", embedding_size=128, hidden_size=256,
                                                num_heads=4, intermediate_size=1024)),
    ("talkheads_ggelu_bert_en_base", dict(attention_kind="talking_heads", feedforward_kind="gated_gelu")),
])
def test_published_hyperparameters(key, field_values):
    config = presets.get_preset(key).config
    for field, value in field_values.items():
        assert getattr(config, field) == value, field


def test_fine_tuned_entries_name_their_task_and_are_never_an_encoder_name():
    from official_encoders.tasks import TASKS

    tasks = {p.name: (p.task, p.num_labels) for p in presets.PRESETS if p.task is not None}
    assert tasks == {
        "finetuned_mrpc/bert_en_cased_L-12_H-768_A-12": ("sequence_classification", 2),
        "finetuned_squad/bert_en_wwm_uncased_L-24_H-1024_A-16": ("question_answering", None),
        "finetuned_squad/bert_en_wwm_cased_L-24_H-1024_A-16": ("question_answering", None),
    }
    assert all(task in TASKS for task, _ in tasks.values())
    for name in tasks:  # the encoder of a fine-tuned entry is named after a pretrained entry
        preset = presets.get_preset(name)
        pretrained = presets.find_preset(preset.config, do_lower_case=preset.do_lower_case)
        assert pretrained.task is None and pretrained.config == preset.config
    german = presets.get_preset("bert-base-german-cased")
    assert german.do_lower_case is False
    assert presets.name_for_config(german.config.replace(num_layers=4)) == "bert_de_cased_L-4_H-768_A-12"
    assert presets.name_for_config(presets.get_preset("albert_en_base").config.replace(num_layers=4)) \
        == "albert_en_L-4_H-768_A-12"


def test_unknown_name_lists_close_matches():
    with pytest.raises(KeyError) as info:
        presets.get_preset("bert_en_uncased_L-12_H-768_A-11")
    message = str(info.value)
    assert "bert_en_uncased_L-12_H-768_A-12" in message
    assert "preset_names()" in message


def test_name_for_config():
    hf_base = EncoderConfig.from_hf_config(dict(
        model_type="bert", vocab_size=30522, hidden_size=768, num_hidden_layers=12,
        num_attention_heads=12, intermediate_size=3072, hidden_act="gelu"))
    assert presets.name_for_config(hf_base) == "bert_en_uncased_L-12_H-768_A-12"
    small = presets.get_preset("google/bert_uncased_L-2_H-128_A-2").config
    assert presets.name_for_config(small) == "small_bert/bert_en_uncased_L-2_H-128_A-2"
    cased_large = presets.get_preset("bert-large-cased").config
    assert presets.name_for_config(cased_large, do_lower_case=False) == "bert_en_cased_L-24_H-1024_A-16"
    # The same architecture with the other casing is not that preset.
    assert presets.find_preset(cased_large, do_lower_case=True) is None
    minilm = hf_base.replace(num_layers=6, hidden_size=384, intermediate_size=1536)
    assert presets.find_preset(minilm) is None
    assert presets.name_for_config(minilm) == "bert_en_uncased_L-6_H-384_A-12"
    electra = presets.get_preset("electra_base").config
    assert presets.name_for_config(electra) == "electra_base"
    th = presets.get_preset("talkheads_ggelu_bert_en_base").config.replace(num_layers=2)
    assert presets.name_for_config(th) == "talkheads_ggelu_bert_en_uncased_L-2_H-768_A-12"


@pytest.mark.parametrize("name", ["small_bert/bert_en_uncased_L-2_H-128_A-2", "albert_en_base", "electra_small"])
def test_small_entries_build_with_the_published_parameter_count(name):
    """Our encoder for the entry has as many parameters as the HF model of the same config, built in this run."""
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    import numpy as np

    from official_encoders import build_encoder

    config = presets.get_preset(name).config
    encoder = build_encoder(config)
    ours = sum(int(np.prod(v.shape)) for v in encoder.weights)
    hf_config = transformers.AutoConfig.for_model(**config.to_hf_config())
    hf_model = transformers.AutoModel.from_config(hf_config)
    theirs = sum(p.numel() for p in hf_model.parameters())
    if config.family == "electra":  # HF ElectraModel has no pooler; ours starts it at the identity
        theirs += config.hidden_size * config.hidden_size + config.hidden_size
    assert ours == theirs
