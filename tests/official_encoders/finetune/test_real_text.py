"""Fine-tuning the real all-MiniLM-L6-v2 through `finetune.run.run`, once per task, on the
real-text sets of tests/data/finetune/ (built and documented in tests/data/README.md).

Each test trains on the training split, scores the final model on the dev split (the last
epoch's entry of eval_results.json, not the best one, so no choice is made on dev), computes
a simple baseline on the same dev split in the same test, and requires the model to beat it.
Each prints both numbers. The settings are the smallest that beat the baselines with a margin
on 2 CPU cores: short sequences, a few epochs, a fixed seed.
"""

import json
import pathlib

import pytest

from official_encoders.finetune import baselines, data, metrics, readers
from official_encoders.finetune.params import FinetuneParams
from official_encoders.finetune.run import run

DATA = pathlib.Path(__file__).resolve().parents[2] / "data" / "finetune"
SEED = 20261201

pytestmark = pytest.mark.slow


def _fine_tune(tmp_path, task, train, dev, **settings):
    """Runs `task` from the real MiniLM on DATA/train, evaluating on DATA/dev; returns
    (the final epoch's dev scores, the run's model_dir)."""
    from export.main_job import minilm_dir

    model_dir = tmp_path / "run"
    params = FinetuneParams(task=task, init_checkpoint=f"hf:{minilm_dir()}", train_data=str(DATA / train),
                            eval_data=str(DATA / dev), model_dir=str(model_dir), seed=SEED, **settings)
    summary = run(params, verbose=0)
    entries = json.loads((model_dir / "eval_results.json").read_text())
    assert [e["epoch"] for e in entries] == list(range(1, params.epochs + 1))
    assert summary["steps"] > 0
    return entries[-1], model_dir


def _sentence_labels(name, text_columns):
    return data.read_examples(str(DATA / name), text_columns, "label")[1]


def test_classification_beats_the_majority_class(tmp_path):
    scores, _ = _fine_tune(tmp_path, "sentence_prediction", "classification_train.tsv", "classification_dev.tsv",
                           seq_length=32, epochs=2, batch_size=16, learning_rate=1e-4)
    dev_labels = _sentence_labels("classification_dev.tsv", ["sentence"])
    majority = baselines.majority_class(_sentence_labels("classification_train.tsv", ["sentence"]))
    baseline = metrics.accuracy(dev_labels, [majority] * len(dev_labels))
    print(f"\nclassification dev: accuracy {scores['accuracy']:.3f} macro-F1 {scores['f1']:.3f} "
          f"MCC {scores['matthews_corrcoef']:.3f} (majority class {majority!r}: accuracy {baseline:.3f})")
    assert scores["accuracy"] > baseline + 0.2


def test_regression_correlates_with_the_similarity_scores(tmp_path):
    # The simple baseline, the mean training score, predicts a constant, whose correlation is
    # undefined (NaN), so there is no baseline number to beat. Untrained, the one-unit head's
    # output is unrelated to the labels (Pearson near 0); 0.3 asks for a clear positive correlation.
    scores, _ = _fine_tune(tmp_path, "sentence_prediction", "sts_train.tsv", "sts_dev.tsv", num_labels=1,
                           text_columns="sentence1,sentence2", seq_length=64, epochs=3, batch_size=8,
                           learning_rate=1e-4)
    train_scores = _sentence_labels("sts_train.tsv", ["sentence1", "sentence2"])
    dev_scores = [float(v) for v in _sentence_labels("sts_dev.tsv", ["sentence1", "sentence2"])]
    mean = baselines.mean_regression(train_scores)
    baseline = metrics.pearson(dev_scores, [mean] * len(dev_scores))
    print(f"\nSTS dev: Pearson {scores['pearson']:.3f} Spearman {scores['spearman']:.3f} "
          f"(mean-score baseline: Pearson {baseline})")
    assert scores["pearson"] > 0.3 and scores["spearman"] > 0.3


def test_question_answering_beats_the_most_question_words_sentence(tmp_path):
    scores, model_dir = _fine_tune(tmp_path, "question_answering", "squad_train.json", "squad_dev.json",
                                   seq_length=128, doc_stride=32, epochs=2, batch_size=16,
                                   learning_rate=1e-4)
    dev = readers.read_squad(str(DATA / "squad_dev.json")).examples
    gold = {e.id: [answer for answer, _ in e.answers] for e in dev}
    # The run's own predictions.json, scored here as the official script would score it.
    predicted = metrics.squad_exact_match_and_f1(
        json.loads((model_dir / "predictions.json").read_text(encoding="utf-8")), gold, version="1.1")
    assert predicted["exact_match"] == pytest.approx(scores["exact_match"])
    assert predicted["f1"] == pytest.approx(scores["f1"])
    baseline = metrics.squad_exact_match_and_f1(
        {e.id: baselines.most_question_words_sentence(e.question, e.context)[0] for e in dev}, gold, version="1.1")
    print(f"\nQA dev: EM {scores['exact_match']:.1f} F1 {scores['f1']:.1f} "
          f"(most-question-words sentence: EM {baseline['exact_match']:.1f} F1 {baseline['f1']:.1f})")
    assert scores["exact_match"] > baseline["exact_match"] + 10
    assert scores["f1"] > baseline["f1"] + 10


def test_tagging_beats_the_majority_tag_per_word(tmp_path):
    scores, _ = _fine_tune(tmp_path, "tagging", "conll_train.txt", "conll_dev.txt",
                           seq_length=48, epochs=3, batch_size=16, learning_rate=1e-4)
    train = readers.read_tagging(str(DATA / "conll_train.txt")).examples
    dev = readers.read_tagging(str(DATA / "conll_dev.txt")).examples
    predict = baselines.majority_tag_per_word(train)
    baseline = metrics.tagging_scores([list(e.tags) for e in dev], [predict(list(e.tokens)) for e in dev])
    print(f"\ntagging dev: entity F1 {scores['f1']:.3f} token accuracy {scores['accuracy']:.3f} "
          f"(majority tag per word: F1 {baseline['f1']:.3f} token accuracy {baseline['accuracy']:.3f})")
    assert scores["f1"] > baseline["f1"] + 0.1


def test_multiple_choice_beats_chance_and_the_first_choice(tmp_path):
    scores, _ = _fine_tune(tmp_path, "multiple_choice", "swag_train.csv", "swag_dev.csv",
                           seq_length=64, epochs=2, batch_size=8, learning_rate=5e-5)
    dev = readers.read_multiple_choice(str(DATA / "swag_dev.csv")).examples
    labels = [e.label for e in dev]
    choices = {len(e.endings) for e in dev}
    assert len(choices) == 1
    chance = 1 / choices.pop()
    first = metrics.accuracy(labels, baselines.first_choice(len(labels)))
    print(f"\nmultiple choice dev: accuracy {scores['accuracy']:.3f} "
          f"(chance {chance:.3f}, always the first choice {first:.3f})")
    assert scores["accuracy"] > max(chance, first) + 0.1
