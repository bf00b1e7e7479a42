"""Parity with Hugging Face transformers (torch, CPU) computed in the same run.

Tiny random models of every supported class are saved with save_pretrained
into tmp_path and imported with hf.py; the real all-MiniLM-L6-v2 runs on real
multilingual passages with padding. Max abs difference <= 1e-4 everywhere.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from export.main_job import minilm_dir  # noqa: E402
from official_encoders.checkpoints.hf import load_hf  # noqa: E402
from official_encoders import EncoderWithMaskedLM, EncoderWithRtd  # noqa: E402
from tests.common.tiny_configs import tiny_hf_config  # noqa: E402
from tests.official_encoders.encoder_checks import random_inputs  # noqa: E402
from tests.preprocessors.corpus_data import read_passages  # noqa: E402

pytestmark = pytest.mark.slow
TOLERANCE = 1e-4
TINY = tiny_hf_config(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
POSITIONS = np.array([[0, 3, 6, 1], [2, 4, 0, 0], [5, 1, 2, 3]], "int32")


def _save_random(model_class, config, directory, safe=True):
    torch.manual_seed(0)
    model = model_class(config).eval()
    with torch.no_grad():  # every parameter random, so a mis-mapped LayerNorm or bias cannot hide
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.2)
    model.save_pretrained(str(directory), safe_serialization=safe)
    return model


def _torch_inputs(inputs):
    return {"input_ids": torch.tensor(inputs["input_word_ids"], dtype=torch.long),
            "attention_mask": torch.tensor(inputs["input_mask"], dtype=torch.long),
            "token_type_ids": torch.tensor(inputs["input_type_ids"], dtype=torch.long)}


def _max_diff(ours, theirs, mask=None):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if mask is not None:  # padded positions are not defined the same way by both libraries
        ours, theirs = ours[mask], theirs[mask]
    return float(np.max(np.abs(ours - theirs)))


def _check_head(key, ours, theirs, mask=None):
    diff = _max_diff(ours, theirs, mask)
    print(f"max abs diff {key}: {diff:.1e}")
    assert diff <= TOLERANCE, f"{key}: max abs diff {diff}"


def _compare(ours, reference, inputs, has_pooler):
    """sequence_output, every encoder_outputs entry and (if any) pooled_output against HF outputs."""
    mask = inputs["input_mask"].astype(bool)
    hidden_states = reference.hidden_states[1:]
    assert len(hidden_states) == len(ours["encoder_outputs"])
    diffs = {"sequence_output": _max_diff(ours["sequence_output"], hidden_states[-1], mask)}
    for i, (a, b) in enumerate(zip(ours["encoder_outputs"], hidden_states)):
        diffs[f"encoder_outputs[{i}]"] = _max_diff(a, b, mask)
    if has_pooler:
        diffs["pooled_output"] = _max_diff(ours["pooled_output"], reference.pooler_output)
    print("max abs diffs:", {k: f"{v:.1e}" for k, v in diffs.items()})
    for key, diff in diffs.items():
        assert diff <= TOLERANCE, f"{key}: max abs diff {diff}"
    return diffs


def _run(model, inputs):
    with torch.no_grad():
        return model(**_torch_inputs(inputs), output_hidden_states=True)


def _inputs():
    return random_inputs(3, 7, vocab_size=100, seed=1, valid_lengths=[7, 5, 4])


@pytest.mark.parametrize("safe", [True, False], ids=["safetensors", "pytorch_model.bin"])
def test_bert_model(tmp_path, safe):
    reference = _save_random(transformers.BertModel, transformers.BertConfig(**TINY), tmp_path, safe)
    result = load_hf(tmp_path)
    inputs = _inputs()
    _compare(result.model(inputs), _run(reference, inputs), inputs, has_pooler=True)


def _mlm_logits(reference_logits):
    return np.take_along_axis(reference_logits.numpy(), POSITIONS[..., None], axis=1)


def test_bert_for_pretraining(tmp_path):
    reference = _save_random(transformers.BertForPreTraining, transformers.BertConfig(**TINY), tmp_path)
    result = load_hf(tmp_path)
    assert isinstance(result.model, EncoderWithMaskedLM)
    assert [name for name in result.report.unused] == ["cls.seq_relationship.bias", "cls.seq_relationship.weight"]
    inputs = _inputs()
    ours = result.model({**inputs, "masked_lm_positions": POSITIONS})
    theirs = _run(reference, inputs)
    with torch.no_grad():
        body = reference.bert(**_torch_inputs(inputs), output_hidden_states=True)
    _compare(ours, body, inputs, has_pooler=True)
    _check_head("mlm_logits", ours["mlm_logits"], _mlm_logits(theirs.prediction_logits))


def test_albert_model(tmp_path):
    config = transformers.AlbertConfig(embedding_size=8, **{**TINY, "num_hidden_layers": 3})
    reference = _save_random(transformers.AlbertModel, config, tmp_path)
    result = load_hf(tmp_path)
    assert result.config.family == "albert" and result.config.hidden_act == "gelu_approximate"
    inputs = _inputs()
    _compare(result.model(inputs), _run(reference, inputs), inputs, has_pooler=True)


def test_albert_for_masked_lm(tmp_path):
    reference = _save_random(transformers.AlbertForMaskedLM, transformers.AlbertConfig(embedding_size=8, **TINY),
                             tmp_path)
    with pytest.raises(ValueError, match="pooler"):
        load_hf(tmp_path)  # AlbertForMaskedLM has no pooler: the caller must allow it
    result = load_hf(tmp_path, allow_missing=("pooler_transform",))
    assert isinstance(result.model, EncoderWithMaskedLM)
    inputs = _inputs()
    ours = result.model({**inputs, "masked_lm_positions": POSITIONS})
    theirs = _run(reference, inputs)
    _compare(ours, theirs, inputs, has_pooler=False)
    _check_head("mlm_logits", ours["mlm_logits"], _mlm_logits(theirs.logits))


def test_electra_model(tmp_path):
    reference = _save_random(transformers.ElectraModel, transformers.ElectraConfig(embedding_size=8, **TINY),
                             tmp_path)
    result = load_hf(tmp_path)
    inputs = _inputs()
    _compare(result.model(inputs), _run(reference, inputs), inputs, has_pooler=False)


def test_electra_for_pretraining_discriminator(tmp_path):
    reference = _save_random(transformers.ElectraForPreTraining,
                             transformers.ElectraConfig(embedding_size=8, **TINY), tmp_path)
    result = load_hf(tmp_path)
    assert isinstance(result.model, EncoderWithRtd)
    inputs = _inputs()
    ours, theirs = result.model(inputs), _run(reference, inputs)
    _compare(ours, theirs, inputs, has_pooler=False)
    mask = inputs["input_mask"].astype(bool)
    _check_head("rtd_logits", ours["rtd_logits"], theirs.logits, mask)


def test_electra_for_masked_lm_generator(tmp_path):
    reference = _save_random(transformers.ElectraForMaskedLM,
                             transformers.ElectraConfig(embedding_size=8, **TINY), tmp_path)
    result = load_hf(tmp_path)
    assert isinstance(result.model, EncoderWithMaskedLM)
    assert result.report.unused == []
    inputs = _inputs()
    ours, theirs = result.model({**inputs, "masked_lm_positions": POSITIONS}), _run(reference, inputs)
    _compare(ours, theirs, inputs, has_pooler=False)
    _check_head("mlm_logits", ours["mlm_logits"], _mlm_logits(theirs.logits))


def test_real_all_minilm_l6_v2_on_multilingual_passages():
    directory = minilm_dir()
    result = load_hf(directory)
    assert result.report.missing == [] and result.report.unused == []
    assert result.vocab_file.endswith("vocab.txt") and result.do_lower_case is True
    passages = [p for p in read_passages() if p.strip()][:: 400][:12]
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(directory))
    batch = tokenizer(passages, padding=True, truncation=True, max_length=96, return_tensors="np")
    inputs = {"input_word_ids": batch["input_ids"].astype("int32"),
              "input_mask": batch["attention_mask"].astype("int32"),
              "input_type_ids": batch["token_type_ids"].astype("int32")}
    lengths = inputs["input_mask"].sum(1)
    assert lengths.min() < lengths.max(), "the batch must contain padding"
    reference = transformers.AutoModel.from_pretrained(str(directory)).eval()
    diffs = _compare(result.encoder(inputs), _run(reference, inputs), inputs, has_pooler=True)
    print("all-MiniLM-L6-v2 max abs diffs:", {k: f"{v:.2e}" for k, v in diffs.items()})
