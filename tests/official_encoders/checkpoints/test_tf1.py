"""TF1 google-research checkpoints: written from random HF models, imported by tf1.py, equal to HF."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from official_encoders.checkpoints import tf1  # noqa: E402
from tests.common.tiny_configs import tiny_hf_config  # noqa: E402
from tests.official_encoders.checkpoints.tf1_writer import google_research_weights, write_tf1_checkpoint  # noqa: E402

TINY = tiny_hf_config(num_attention_heads=4, max_position_embeddings=64, hidden_act="gelu_new",
                      hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
TOLERANCE = 1e-4


def _randomize(model, seed):
    """Non-trivial values everywhere (layer norms and biases included), so a swapped tensor shows."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            scale = 0.5 if param.dim() > 1 else 0.2
            noise = torch.randn(param.shape, generator=generator) * scale
            param.copy_(noise + (1.0 if name.endswith("LayerNorm.weight") or "layer_norm.weight" in name else 0.0))
    return model.eval()


def _bert_config_json(path, extra=None):
    config = {k: v for k, v in TINY.items() if k != "hidden_act"}
    config.update(hidden_act="gelu", type_vocab_size=2, initializer_range=0.02)  # google-research "gelu" = tanh form
    config.update(extra or {})
    path.write_text(json.dumps(config))
    return path


def _inputs():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 100, size=(2, 9)).astype(np.int32)
    mask = np.ones_like(ids)
    mask[1, 6:] = 0
    types = np.zeros_like(ids)
    types[:, 5:] = 1
    return dict(input_word_ids=ids, input_mask=mask, input_type_ids=types)


def _hf_outputs(model, feed):
    with torch.no_grad():
        return model(input_ids=torch.from_numpy(feed["input_word_ids"]).long(),
                     attention_mask=torch.from_numpy(feed["input_mask"]).long(),
                     token_type_ids=torch.from_numpy(feed["input_type_ids"]).long(),
                     output_hidden_states=True)


def _max_diff(ours, theirs):
    return float(np.max(np.abs(np.asarray(ours) - theirs.detach().numpy())))


def _all_positions(feed):
    batch, length = feed["input_word_ids"].shape
    return np.tile(np.arange(length, dtype=np.int32), (batch, 1))


def _check_encoder(outputs, hf_out):
    diffs = {"sequence_output": _max_diff(outputs["sequence_output"], hf_out.hidden_states[-1])}
    for i, layer in enumerate(outputs["encoder_outputs"]):
        diffs[f"encoder_outputs[{i}]"] = _max_diff(layer, hf_out.hidden_states[i + 1])
    return diffs


@pytest.mark.slow
def test_bert_round_trip(tmp_path):
    hf = _randomize(transformers.BertForPreTraining(transformers.BertConfig(**TINY)), seed=1)
    prefix = write_tf1_checkpoint(google_research_weights(hf, "bert"), str(tmp_path / "bert_model.ckpt"))
    result = tf1.load_tf1(prefix, _bert_config_json(tmp_path / "bert_config.json"))
    assert result.config.family == "bert" and result.config.hidden_act == "gelu_approximate"
    assert not result.report.missing
    assert sorted(result.report.unused) == ["cls/seq_relationship/output_bias", "cls/seq_relationship/output_weights"]
    feed = _inputs()
    outputs = result.model(dict(feed, masked_lm_positions=_all_positions(feed)))
    hf_out = _hf_outputs(hf, feed)
    hf_base = hf.bert(input_ids=torch.from_numpy(feed["input_word_ids"]).long(),
                      attention_mask=torch.from_numpy(feed["input_mask"]).long(),
                      token_type_ids=torch.from_numpy(feed["input_type_ids"]).long())
    diffs = _check_encoder(outputs, hf_out)
    diffs["pooled_output"] = _max_diff(outputs["pooled_output"], hf_base.pooler_output)
    diffs["mlm_logits"] = _max_diff(outputs["mlm_logits"], hf_out.prediction_logits)
    assert max(diffs.values()) <= TOLERANCE, diffs
    # The same checkpoint's next-sentence head, as a task model.
    nsp = tf1.load_tf1(prefix, tmp_path / "bert_config.json", task="auto")
    assert nsp.source_task == "next_sentence_prediction" and nsp.report.unused == []
    nsp_diff = _max_diff(nsp.task_model(feed)["logits"], hf_out.seq_relationship_logits)
    print(f"TF1 next-sentence logits: max abs diff {nsp_diff:.1e}")
    assert nsp_diff <= TOLERANCE


@pytest.mark.slow
def test_albert_round_trip(tmp_path):
    config = transformers.AlbertConfig(embedding_size=8, **TINY)
    hf = _randomize(transformers.AlbertForMaskedLM(config), seed=2)
    prefix = write_tf1_checkpoint(google_research_weights(hf, "albert"), str(tmp_path / "model.ckpt-100"))
    config_file = _bert_config_json(tmp_path / "albert_config.json",
                                    dict(embedding_size=8, num_hidden_groups=1, inner_group_num=1))
    # AlbertForMaskedLM has no pooler: the import refuses, then accepts it when allowed by name.
    with pytest.raises(ValueError, match="bert/pooler/dense/kernel"):
        tf1.load_tf1(str(tmp_path), config_file)
    result = tf1.load_tf1(str(tmp_path), config_file, allow_missing=("bert/pooler/dense/*",))
    assert result.config.family == "albert"
    assert {source for source, _ in result.report.missing} == {"bert/pooler/dense/kernel", "bert/pooler/dense/bias"}
    feed = _inputs()
    outputs = result.model(dict(feed, masked_lm_positions=_all_positions(feed)))
    hf_out = _hf_outputs(hf, feed)
    diffs = _check_encoder(outputs, hf_out)
    diffs["mlm_logits"] = _max_diff(outputs["mlm_logits"], hf_out.logits)
    assert max(diffs.values()) <= TOLERANCE, diffs


@pytest.mark.slow
def test_electra_round_trip(tmp_path):
    config = transformers.ElectraConfig(embedding_size=8, **TINY)
    hf = _randomize(transformers.ElectraForPreTraining(config), seed=3)
    prefix = write_tf1_checkpoint(google_research_weights(hf, "electra"), str(tmp_path / "model.ckpt"))
    # ELECTRA's config has no embedding_size here: the checkpoint's table width decides.
    result = tf1.load_tf1(prefix, _bert_config_json(tmp_path / "bert_config.json"))
    assert result.config.family == "electra" and result.config.embedding_size == 8
    assert [source for source, _ in result.report.loaded if "discriminator" in source]
    feed = _inputs()
    outputs = result.model(feed)
    hf_out = _hf_outputs(hf, feed)
    diffs = _check_encoder(outputs, hf_out)
    diffs["rtd_logits"] = _max_diff(outputs["rtd_logits"], hf_out.logits)
    # No pooler in ELECTRA checkpoints: identity with zero bias, so pooled = tanh(first token).
    diffs["pooled_output"] = _max_diff(outputs["pooled_output"], torch.tanh(hf_out.hidden_states[-1][:, 0]))
    assert max(diffs.values()) <= TOLERANCE, diffs


def _tiny_bert_checkpoint(tmp_path, drop=()):
    hf = _randomize(transformers.BertForPreTraining(transformers.BertConfig(**TINY)), seed=4)
    weights = {k: v for k, v in google_research_weights(hf, "bert").items() if k not in drop}
    return write_tf1_checkpoint(weights, str(tmp_path / "bert_model.ckpt"))


def test_missing_tensor_is_named(tmp_path):
    prefix = _tiny_bert_checkpoint(tmp_path, drop=("bert/encoder/layer_1/output/dense/bias",))
    with pytest.raises(ValueError, match="bert/encoder/layer_1/output/dense/bias"):
        tf1.load_tf1(prefix, _bert_config_json(tmp_path / "bert_config.json"))


def test_shape_mismatch_names_both_tensors(tmp_path):
    prefix = _tiny_bert_checkpoint(tmp_path)
    config_file = _bert_config_json(tmp_path / "bert_config.json", dict(intermediate_size=48))
    with pytest.raises(ValueError, match=r"intermediate/dense/kernel.*\(16, 32\).*feedforward/intermediate/kernel.*"
                                         r"\(16, 48\)"):
        tf1.load_tf1(prefix, config_file)


def test_not_a_bert_checkpoint(tmp_path):
    prefix = write_tf1_checkpoint({"resnet/conv1/kernel": np.zeros((3, 3), np.float32)},
                                  str(tmp_path / "model.ckpt"))
    with pytest.raises(ValueError, match="top-level scopes are \\['resnet'\\]"):
        tf1.load_tf1(prefix, _bert_config_json(tmp_path / "bert_config.json"))


def test_optimizer_state_is_skipped():
    assert tf1.is_optimizer_state("bert/encoder/layer_0/output/dense/kernel/adam_m")
    assert tf1.is_optimizer_state("global_step")
    assert not tf1.is_optimizer_state("bert/embeddings/word_embeddings")


@pytest.mark.slow
def test_electra_generator_from_a_combined_checkpoint(tmp_path):
    """A pretraining checkpoint holds discriminator and generator; electra_generator=True picks the generator."""
    # HF's generator head always uses exact GELU, so this model does too ("gelu_exact" in bert_config.json).
    config = transformers.ElectraConfig(embedding_size=8, **dict(TINY, hidden_act="gelu"))
    generator = _randomize(transformers.ElectraForMaskedLM(config), seed=5)
    discriminator = _randomize(transformers.ElectraForPreTraining(transformers.ElectraConfig(
        embedding_size=8, **TINY)), seed=6)
    weights = google_research_weights(discriminator, "electra")
    generator_weights = google_research_weights(generator, "electra_generator")
    for name, value in generator_weights.items():  # shared embeddings: the generator's copy wins here
        weights[name] = value
    prefix = write_tf1_checkpoint(weights, str(tmp_path / "model.ckpt"))
    config_file = _bert_config_json(tmp_path / "bert_config.json", dict(hidden_act="gelu_exact"))
    result = tf1.load_tf1(prefix, config_file, electra_generator=True)
    assert type(result.model).__name__ == "EncoderWithMaskedLM"
    assert any(name.startswith("discriminator_predictions/") for name in result.report.unused)
    feed = _inputs()
    outputs = result.model(dict(feed, masked_lm_positions=_all_positions(feed)))
    hf_out = _hf_outputs(generator, feed)
    diffs = _check_encoder(outputs, hf_out)
    diffs["mlm_logits"] = _max_diff(outputs["mlm_logits"], hf_out.logits)
    assert max(diffs.values()) <= TOLERANCE, diffs


def test_casing_is_read_from_the_vocabulary(tmp_path):
    uncased = tmp_path / "uncased.txt"
    uncased.write_text("[PAD]\n[UNK]\n[CLS]\nthe\n##s\nstraße\n")
    cased = tmp_path / "cased.txt"
    cased.write_text("[PAD]\n[UNK]\nthe\nThe\n##s\n")
    assert tf1.guess_do_lower_case(str(uncased)) is True
    assert tf1.guess_do_lower_case(str(cased)) is False


def test_directory_with_bert_download_layout(tmp_path):
    """bert_model.ckpt.* + bert_config.json + vocab.txt, no 'checkpoint' file: found and read."""
    _tiny_bert_checkpoint(tmp_path)
    _bert_config_json(tmp_path / "bert_config.json")
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\nHello\n")
    result = tf1.load_tf1(str(tmp_path), str(tmp_path / "bert_config.json"))
    assert result.vocab_file == str(tmp_path / "vocab.txt") and result.do_lower_case is False
    assert str(tmp_path / "bert_model.ckpt.index") in result.source_files
    assert str(tmp_path / "bert_config.json") in result.source_files
