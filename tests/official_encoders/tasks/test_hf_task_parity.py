"""Task models imported from Hugging Face task classes equal transformers (torch, CPU) in the same run.

Tiny random models of every task class are saved with save_pretrained (safetensors)
into tmp_path and imported with from_pretrained(task=...). Every parameter is random
and the head is scaled up, so logits are well separated (a rounding difference cannot
flip an argmax); logits must agree within 1e-4 on padded inputs. The rest of the file
covers what from_pretrained does with a task checkpoint: task="auto", task=None, a head
the source lacks, and a fresh head.
"""

import logging

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import official_encoders  # noqa: E402
from official_encoders.checkpoints import load_directory  # noqa: E402
from official_encoders.checkpoints.task_import import FRESH_HEAD  # noqa: E402
from official_encoders.tasks import TASKS  # noqa: E402
from tests.common.tiny_configs import TINY_EMBEDDING_SIZE, tiny_hf_config  # noqa: E402
from tests.official_encoders.encoder_checks import random_inputs  # noqa: E402

pytestmark = pytest.mark.slow
TOLERANCE = 1e-4
HEAD_SCALE = 100.0  # the output layer's weights ~ N(0, 0.2 * 100): logits of tens
NUM_LABELS = 3
CONFIGS = {
    "bert": lambda **kw: transformers.BertConfig(**tiny_hf_config(), **kw),
    "albert": lambda **kw: transformers.AlbertConfig(embedding_size=TINY_EMBEDDING_SIZE, **tiny_hf_config(), **kw),
    "electra": lambda **kw: transformers.ElectraConfig(embedding_size=TINY_EMBEDDING_SIZE, **tiny_hf_config(), **kw),
}
PREFIXES = {"bert": "Bert", "albert": "Albert", "electra": "Electra"}
SUFFIXES = {"ForSequenceClassification": "sequence_classification",
            "ForTokenClassification": "token_classification",
            "ForQuestionAnswering": "question_answering", "ForMultipleChoice": "multiple_choice"}
CASES = [(family, PREFIXES[family] + suffix, task) for family in PREFIXES for suffix, task in SUFFIXES.items()]
CASES += [("bert", "BertForNextSentencePrediction", "next_sentence_prediction"),
          ("bert", "BertForPreTraining", "next_sentence_prediction")]
LABELS = {0: "negative", 1: "neutral", 2: "positive"}


def save_random(class_name, family, directory, seed=1, **config):
    """A random HF model of `class_name` saved to `directory` (safetensors), its output layer scaled up."""
    torch.manual_seed(seed)
    model = getattr(transformers, class_name)(CONFIGS[family](**config)).eval()
    body = getattr(model, model.base_model_prefix, model)
    in_body = {id(p) for p in body.parameters()}
    head_layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear) and id(m.weight) not in in_body]
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.2)
        if head_layers:  # the last one computes the logits
            head_layers[-1].weight.mul_(HEAD_SCALE)
            head_layers[-1].bias.mul_(HEAD_SCALE)
    model.save_pretrained(str(directory), safe_serialization=True)
    return model


def _inputs(task):
    if task == "multiple_choice":  # [B=2, K=3, S=7], choices of different lengths
        flat = random_inputs(6, 7, seed=2, valid_lengths=[7, 5, 4, 6, 3, 7])
        return {k: v.reshape(2, 3, 7) for k, v in flat.items()}
    return random_inputs(3, 7, seed=1, valid_lengths=[7, 5, 4])


def _torch_logits(model, inputs, task):
    feed = {"input_ids": inputs["input_word_ids"], "attention_mask": inputs["input_mask"],
            "token_type_ids": inputs["input_type_ids"]}
    with torch.no_grad():
        out = model(**{k: torch.tensor(v, dtype=torch.long) for k, v in feed.items()})
    if task == "question_answering":
        return {"start_logits": out.start_logits.numpy(), "end_logits": out.end_logits.numpy()}
    if isinstance(model, transformers.BertForPreTraining):
        return {"logits": out.seq_relationship_logits.numpy()}
    return {"logits": out.logits.numpy()}


def _compared(values, task, inputs):
    """Per-token outputs under the input mask (padding is not defined the same way); others whole."""
    if task in ("token_classification", "question_answering"):
        return values[inputs["input_mask"].astype(bool)]
    return values


def _choices(values, task, inputs):
    """Rows whose argmax is the prediction: classes (per example or per real token), or for
    question answering the real positions of each example."""
    if task == "question_answering":
        return np.where(inputs["input_mask"].astype(bool), values, -np.inf)
    return _compared(values, task, inputs).reshape(-1, values.shape[-1])


@pytest.mark.parametrize("family, class_name, task", CASES, ids=[c[1] for c in CASES])
def test_logits_equal_transformers(tmp_path, family, class_name, task):
    labels = dict(num_labels=NUM_LABELS) if task in ("sequence_classification", "token_classification") else {}
    reference = save_random(class_name, family, tmp_path, **labels)
    model = official_encoders.from_pretrained(tmp_path, task=task)
    assert model.task == task and model.encoder.config.family == family
    inputs = _inputs(task)
    ours, theirs = model(inputs), _torch_logits(reference, inputs, task)
    assert set(ours) == set(theirs)
    for key, expected in theirs.items():
        got = np.asarray(ours[key])
        assert got.dtype == np.float32 and got.shape == expected.shape, key
        a, b = _compared(got, task, inputs), _compared(expected, task, inputs)
        diff = float(np.max(np.abs(a - b)))
        print(f"{class_name} {key}: max abs diff {diff:.2e} (logits up to {np.max(np.abs(b)):.1f})")
        assert diff <= TOLERANCE, f"{key}: max abs diff {diff}"
        rows_ours, rows_theirs = _choices(got, task, inputs), _choices(expected, task, inputs)
        top2 = np.sort(rows_theirs, axis=-1)[:, -2:]
        # Within TOLERANCE of each other, two logits further apart than 2 * TOLERANCE keep their order.
        assert np.min(top2[:, 1] - top2[:, 0]) > 2 * TOLERANCE, "logits too close to compare argmaxes"
        np.testing.assert_array_equal(np.argmax(rows_ours, -1), np.argmax(rows_theirs, -1))


@pytest.mark.parametrize("family", ["bert", "electra"])
def test_auto_reads_architectures_and_labels_travel(tmp_path, family):
    class_name = PREFIXES[family] + "ForSequenceClassification"
    save_random(class_name, family, tmp_path, id2label=LABELS, label2id={v: k for k, v in LABELS.items()})
    model = official_encoders.from_pretrained(tmp_path, task="auto")
    assert type(model).__name__ == "SequenceClassifier" and model.id2label == LABELS
    assert model.label2id == {"negative": 0, "neutral": 1, "positive": 2}
    assert model.classifier.output_projection.kernel.shape == (16, 3)
    if family == "electra":  # the ELECTRA head: dense + GELU on the first token, not the pooler
        assert model.classifier.dense is not None and model.head_activation == "gelu"


def test_auto_token_and_qa_without_pooler_report_it(tmp_path):
    for name in ("BertForTokenClassification", "BertForQuestionAnswering"):
        save_random(name, "bert", tmp_path / name)
        result = load_directory(tmp_path / name, task="auto")
        pooler = [target for _, target in result.report.allowed_missing]
        assert pooler == ["pooler_transform/kernel", "pooler_transform/bias"], name
        assert result.report.unused == [] and result.task_model.encoder is result.encoder


def test_task_none_loads_the_encoder_and_reports_the_head_unused(tmp_path, caplog):
    save_random("BertForQuestionAnswering", "bert", tmp_path)
    result = load_directory(tmp_path)
    assert result.task_model is None and result.source_task == "question_answering"
    assert result.report.unused == ["qa_outputs.bias", "qa_outputs.weight"]
    assert [t for _, t in result.report.allowed_missing] == ["pooler_transform/kernel", "pooler_transform/bias"]
    with caplog.at_level(logging.WARNING):
        encoder = official_encoders.from_pretrained(tmp_path)
    assert isinstance(encoder, official_encoders.BertEncoder)
    assert "unused: qa_outputs.weight" in caplog.text and "pooler_transform/kernel (allowed)" in caplog.text


def test_a_head_the_source_lacks_is_an_error_naming_it(tmp_path):
    save_random("BertForSequenceClassification", "bert", tmp_path / "cls")
    save_random("BertModel", "bert", tmp_path / "body")
    with pytest.raises(ValueError, match="has no 'question_answering' head.*BertForSequenceClassification"
                                         "|BertForSequenceClassification.*has no 'question_answering' head"):
        official_encoders.from_pretrained(tmp_path / "cls", task="question_answering")
    with pytest.raises(ValueError, match="has no 'token_classification' head.*num_labels="):
        official_encoders.from_pretrained(tmp_path / "body", task="token_classification")
    with pytest.raises(ValueError, match="task='auto'.*declares no task head"):
        official_encoders.from_pretrained(tmp_path / "body", task="auto")
    with pytest.raises(ValueError, match="sequence_classification head has 2 labels, not num_labels=5"):
        official_encoders.from_pretrained(tmp_path / "cls", task="sequence_classification", num_labels=5)
    with pytest.raises(ValueError, match="is not a task; use one of"):
        official_encoders.from_pretrained(tmp_path / "cls", task="summarization")


def test_num_labels_asks_for_a_fresh_head(tmp_path):
    save_random("BertModel", "bert", tmp_path / "body")
    save_random("BertForSequenceClassification", "bert", tmp_path / "cls")
    result = load_directory(tmp_path / "body", task="token_classification", num_labels=4,
                            id2label={0: "O", 1: "B-X", 2: "I-X", 3: "E-X"})
    model = result.task_model
    assert model.num_labels == 4 and model.id2label[3] == "E-X"
    fresh = [(s, t) for s, t in result.report.allowed_missing if s == FRESH_HEAD]
    assert [t for _, t in fresh] == ["classifier/output/kernel", "classifier/output/bias"]
    assert model(_inputs("token_classification"))["logits"].shape == (3, 7, 4)
    # A source with another head: that head is unused and the new one is fresh.
    other = load_directory(tmp_path / "cls", task="question_answering", num_labels=2)
    assert other.report.unused == ["classifier.bias", "classifier.weight"]
    assert other.task_model.task == "question_answering"


def test_without_architectures_the_head_is_found_by_its_tensors(tmp_path):
    import json

    save_random("ElectraForQuestionAnswering", "electra", tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["architectures"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="task='auto'.*declares no task head"):
        official_encoders.from_pretrained(tmp_path, task="auto")
    result = load_directory(tmp_path, task="question_answering")
    assert result.source_task == "question_answering" and result.report.unused == []


def test_every_task_is_covered():
    assert {task for _, _, task in CASES} == set(TASKS)
