"""eval_results.json gets one entry per epoch; the scores come from the official metric functions."""

import json

import numpy as np
import scipy.stats
from sklearn import metrics as sk

from official_encoders.finetune import evaluation


def test_classification_scores_use_the_argmax_of_the_logits():
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(50, 3)), rng.integers(0, 3, size=50)
    scores = evaluation.sentence_prediction_evaluation(logits, labels, 3)
    predicted = logits.argmax(-1)
    assert np.isclose(scores["accuracy"], sk.accuracy_score(labels, predicted))
    assert np.isclose(scores["f1"], sk.f1_score(labels, predicted, average="macro"))
    assert np.isclose(scores["matthews_corrcoef"], sk.matthews_corrcoef(labels, predicted))


def test_regression_scores_use_the_single_output():
    rng = np.random.default_rng(1)
    outputs, labels = rng.normal(size=(40, 1)), rng.uniform(0, 5, size=40)
    scores = evaluation.sentence_prediction_evaluation(outputs, labels, 1)
    assert set(scores) == {"pearson", "spearman"}
    assert np.isclose(scores["pearson"], scipy.stats.pearsonr(labels, outputs[:, 0])[0])
    assert np.isclose(scores["spearman"], scipy.stats.spearmanr(labels, outputs[:, 0])[0])


def test_eval_results_append_one_entry_per_epoch_and_replace_a_rerun_epoch(tmp_path):
    evaluation.append_eval_results(tmp_path / "run", 1, {"accuracy": 0.5})
    evaluation.append_eval_results(tmp_path / "run", 2, {"accuracy": 0.7})
    evaluation.append_eval_results(tmp_path / "run", 2, {"accuracy": 0.75})  # a resumed run redoes epoch 2
    entries = json.loads((tmp_path / "run" / evaluation.EVAL_RESULTS).read_text())
    assert entries == [{"epoch": 1, "accuracy": 0.5}, {"epoch": 2, "accuracy": 0.75}]
    assert not list((tmp_path / "run").glob("*.tmp-*"))
