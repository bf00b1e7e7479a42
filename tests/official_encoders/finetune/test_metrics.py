"""official_encoders.finetune.metrics: hand-made cases, then random inputs against scikit-learn, scipy and seqeval."""

import ast
import math
import pathlib
import sys
import warnings

import numpy as np
import pytest

from official_encoders.finetune import metrics as fm

MODULE_PATH = pathlib.Path(fm.__file__)


def test_module_imports_only_numpy_and_the_standard_library():
    tree = ast.parse(MODULE_PATH.read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            roots.add(node.module.split(".")[0])
    assert roots - {"numpy"} <= set(sys.stdlib_module_names), roots


# --- classification and regression, by hand --------------------------------

def test_accuracy_and_binary_f1_by_hand():
    labels = [1, 1, 0, 0, 1]
    predictions = [1, 0, 0, 1, 1]
    assert fm.accuracy(labels, predictions) == pytest.approx(0.6)
    # tp=2, fp=1, fn=1: F1 = 4 / 6.
    assert fm.f1(labels, predictions) == pytest.approx(2 / 3)
    # Class 0: tp=1, fp=1, fn=1 -> 1/2; macro is the mean of 1/2 and 2/3.
    assert fm.f1(labels, predictions, average="macro") == pytest.approx((0.5 + 2 / 3) / 2)


def test_binary_f1_without_any_positive_is_zero():
    assert fm.f1([0, 0, 0], [0, 0, 0]) == 0.0
    assert fm.f1([0, 0, 0], [0, 0, 0], average="macro") == 1.0


def test_binary_f1_refuses_other_classes_and_unknown_averages():
    with pytest.raises(ValueError, match="average='macro'"):
        fm.f1([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="'micro'"):
        fm.f1([0, 1], [0, 1], average="micro")


def test_mcc_by_hand_and_zero_denominator():
    # tp=2, tn=1, fp=1, fn=1: (2*1 - 1*1) / sqrt(3*3*2*2) = 1/6.
    assert fm.matthews_corrcoef([1, 1, 0, 0, 1], [1, 0, 0, 1, 1]) == pytest.approx(1 / 6)
    assert fm.matthews_corrcoef([1, 0, 1], [1, 0, 1]) == 1.0
    assert fm.matthews_corrcoef([1, 0], [0, 1]) == -1.0
    # All predictions (or all labels) one class: sklearn's 0.0, not NaN.
    assert fm.matthews_corrcoef([0, 1, 1, 0], [1, 1, 1, 1]) == 0.0
    assert fm.matthews_corrcoef([2, 2, 2], [0, 1, 2]) == 0.0


@pytest.mark.parametrize("metric", [fm.accuracy, fm.f1, fm.matthews_corrcoef, fm.pearson, fm.spearman])
def test_empty_and_mismatched_inputs_are_refused(metric):
    with pytest.raises(ValueError, match="no examples"):
        metric([], [])
    with pytest.raises(ValueError, match="3 labels, 2 predictions"):
        metric([1, 0, 1], [1, 0])


def test_correlations_by_hand():
    assert fm.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert fm.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # Monotone but not linear: Spearman is 1, Pearson is not.
    assert fm.spearman([1, 2, 3, 4], [1, 10, 100, 1000]) == pytest.approx(1.0)
    assert fm.pearson([1, 2, 3, 4], [1, 10, 100, 1000]) < 0.9
    # Ties take average ranks: [1, 2.5, 2.5, 4] against [1, 2, 3, 4].
    ranks = np.array([1, 2.5, 2.5, 4]) - 2.5
    expected = np.dot(ranks, np.array([-1.5, -0.5, 0.5, 1.5])) / (
        np.linalg.norm(ranks) * np.linalg.norm([-1.5, -0.5, 0.5, 1.5]))
    assert fm.spearman([1, 5, 5, 9], [1, 2, 3, 4]) == pytest.approx(expected)


def test_constant_regression_gives_nan_as_scipy_and_one_example_is_refused():
    assert math.isnan(fm.pearson([1.0, 2.0, 3.0], [0.1, 0.1, 0.1]))
    assert math.isnan(fm.spearman([0.1, 0.1, 0.1], [1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="at least 2"):
        fm.pearson([1.0], [1.0])


def test_sentence_prediction_scores_pick_by_num_classes():
    assert set(fm.metrics_for_task("sentence_prediction", [0.5, 1.0, 2.0], [0.4, 1.2, 1.9],
                                   num_classes=1)) == {"pearson", "spearman"}
    binary = fm.sentence_prediction_scores([1, 1, 0, 0, 1], [1, 0, 0, 1, 1], num_classes=2)
    assert binary["f1"] == pytest.approx(2 / 3)
    three = fm.sentence_prediction_scores([1, 1, 0, 0, 1], [1, 0, 0, 1, 1], num_classes=3)
    assert three["f1"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert set(three) == {"accuracy", "f1", "matthews_corrcoef"}
    assert fm.metrics_for_task("multiple_choice", [0, 3, 2], [0, 3, 1]) == {
        "accuracy": pytest.approx(2 / 3)}
    with pytest.raises(ValueError, match="unknown task 'ranking'"):
        fm.metrics_for_task("ranking", [0], [0])


# --- classification and regression, random against the references ----------

CLASSIFICATION_CASES = 400
REGRESSION_CASES = 400


def _random_classes(rng):
    n = int(rng.integers(1, 60))
    num_classes = int(rng.integers(2, 6))
    labels = rng.integers(0, num_classes, n)
    if rng.random() < 0.15:  # one predicted class: MCC's zero denominator
        predictions = np.full(n, rng.integers(0, num_classes))
    else:
        # Mostly right, so the scores spread over their range.
        predictions = np.where(rng.random(n) < rng.random(), labels, rng.integers(0, num_classes, n))
    return labels, predictions, num_classes


def test_classification_metrics_match_scikit_learn_on_random_inputs():
    from sklearn import metrics as sk

    rng = np.random.default_rng(20240601)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's UndefinedMetricWarning on zero division
        for case in range(CLASSIFICATION_CASES):
            labels, predictions, num_classes = _random_classes(rng)
            where = f"case {case}: labels={labels.tolist()} predictions={predictions.tolist()}"
            assert fm.accuracy(labels, predictions) == pytest.approx(
                sk.accuracy_score(labels, predictions), abs=1e-12), where
            assert fm.matthews_corrcoef(labels, predictions) == pytest.approx(
                sk.matthews_corrcoef(labels, predictions), abs=1e-12), where
            assert fm.f1(labels, predictions, average="macro") == pytest.approx(
                sk.f1_score(labels, predictions, average="macro"), abs=1e-12), where
            if num_classes == 2:
                assert fm.f1(labels, predictions) == pytest.approx(
                    sk.f1_score(labels, predictions), abs=1e-12), where


def _random_regression(rng):
    n = int(rng.integers(2, 60))
    labels = rng.normal(size=n) if rng.random() < 0.5 else rng.integers(0, 5, n).astype(float)
    kind = rng.random()
    if kind < 0.1:
        predictions = np.full(n, 0.1)  # constant head: NaN
    elif kind < 0.5:
        predictions = np.round(labels + rng.normal(scale=rng.random() * 2, size=n), 1)  # ties
    else:
        predictions = labels * rng.normal() + rng.normal(size=n)
    return labels, predictions


def test_correlations_match_scipy_on_random_inputs():
    from scipy import stats

    rng = np.random.default_rng(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's ConstantInputWarning
        for case in range(REGRESSION_CASES):
            labels, predictions = _random_regression(rng)
            where = f"case {case}: labels={labels.tolist()} predictions={predictions.tolist()}"
            for ours, theirs in ((fm.pearson, stats.pearsonr(labels, predictions)[0]),
                                 (fm.spearman, stats.spearmanr(labels, predictions)[0])):
                value = ours(labels, predictions)
                if math.isnan(theirs):
                    assert math.isnan(value), (ours.__name__, where)
                else:
                    assert value == pytest.approx(theirs, abs=1e-10), (ours.__name__, where)


# --- SQuAD, by hand (expected values worked out from the official scripts' rules) -----

@pytest.mark.parametrize("text, normalised", [
    ("The Cat's  hat!", "cats hat"),          # lower, punctuation, article, spaces
    ("An apple a day", "apple day"),
    ("the-end", "theend"),                     # punctuation goes before articles are found
    ("Theatre", "theatre"),                    # articles are whole words only
    ("a.m.", "am"),
    ("A", ""),
    ("a\u00a0b\tc\n", "b c"),                  # any Unicode white space collapses
    ("Ünïcode – dash", "ünïcode – dash"),      # only ASCII punctuation is removed
])
def test_squad_normalisation(text, normalised):
    assert fm.normalize_answer(text) == normalised


def test_squad_v1_best_over_gold_answers_and_bag_of_tokens_f1():
    gold = {"q1": ["Denver Broncos", "Broncos"], "q2": ["Denver Broncos", "Broncos"],
            "q3": ["red dog"], "q4": ["dog"], "q5": ["Paris"]}
    predictions = {"q1": "The Broncos.", "q2": "Denver", "q3": "the big red dog",
                   "q4": "dog dog dog", "q5": "", "extra": "ignored"}
    result = fm.squad_exact_match_and_f1(predictions, gold)
    # EM: only q1. F1: q1 1, q2 2/3 (P=1, R=1/2), q3 0.8 (P=2/3, R=1),
    # q4 0.5 (a repeated token overlaps once: P=1/3, R=1), q5 0.
    assert result == {"exact_match": pytest.approx(20.0),
                      "f1": pytest.approx(100 * (1 + 2 / 3 + 0.8 + 0.5 + 0) / 5), "total": 5}


def test_squad_v2_split_and_empty_answers():
    gold = {"q1": ["Paris"], "q2": [], "q3": [], "q4": ["Rome", "rome city"]}
    predictions = {"q1": "paris", "q2": "", "q3": "London", "q4": ""}
    result = fm.squad_exact_match_and_f1(predictions, gold)
    assert result == {
        "exact_match": pytest.approx(50.0), "f1": pytest.approx(50.0), "total": 4,
        "HasAns_exact": pytest.approx(50.0), "HasAns_f1": pytest.approx(50.0), "HasAns_total": 2,
        "NoAns_exact": pytest.approx(50.0), "NoAns_f1": pytest.approx(50.0), "NoAns_total": 2}
    # An article alone is an empty answer too, so it is right for an unanswerable question.
    assert fm.squad_exact_match_and_f1({"q": "The"}, {"q": []})["NoAns_f1"] == 100.0


def test_squad_versions_differ_only_on_gold_answers_that_normalise_to_nothing():
    gold, predictions = {"q": ["the"]}, {"q": "a"}
    # v1.1 compares '' with '': exact, but no token overlaps, so F1 0.
    v1 = fm.squad_exact_match_and_f1(predictions, gold)
    assert (v1["exact_match"], v1["f1"]) == (100.0, 0.0)
    # v2.0 drops the empty gold answer, leaving '' as the answer: both 1. The question
    # still counts as answerable, because its answer list is not empty.
    v2 = fm.squad_exact_match_and_f1(predictions, gold, version="2.0")
    assert (v2["exact_match"], v2["f1"], v2["HasAns_total"]) == (100.0, 100.0, 1)
    assert "NoAns_total" not in v2
    # With another, real gold answer, v2.0 scores only that one.
    v2 = fm.squad_exact_match_and_f1({"q": ""}, {"q": ["the", "Paris"]}, version="2.0")
    assert (v2["exact_match"], v2["f1"]) == (0.0, 0.0)


def test_squad_refuses_missing_predictions_empty_gold_and_bad_versions():
    with pytest.raises(ValueError, match=r"1 of 2 questions have no prediction.*'q2'"):
        fm.squad_exact_match_and_f1({"q1": "x"}, {"q1": ["x"], "q2": ["y"]})
    with pytest.raises(ValueError, match="no gold questions"):
        fm.squad_exact_match_and_f1({}, {})
    with pytest.raises(ValueError, match="use version='2.0'"):
        fm.squad_exact_match_and_f1({"q": ""}, {"q": []}, version="1.1")
    with pytest.raises(ValueError, match="'3.0'"):
        fm.squad_exact_match_and_f1({"q": ""}, {"q": ["a"]}, version="3.0")


SQUAD_CASES = 200


def test_squad_v2_totals_are_the_weighted_split():
    rng = np.random.default_rng(3)
    words = ["the", "a", "Paris", "paris,", "river", "Seine", "an", "old", "city", "."]
    phrase = lambda: " ".join(rng.choice(words, int(rng.integers(0, 4))))  # noqa: E731
    for case in range(SQUAD_CASES):
        n = int(rng.integers(1, 12))
        gold = {f"q{i}": [phrase() for _ in range(int(rng.integers(0, 3)))] for i in range(n)}
        predictions = {qid: phrase() for qid in gold}
        result = fm.squad_exact_match_and_f1(predictions, gold, version="2.0")
        assert result["total"] == result.get("HasAns_total", 0) + result.get("NoAns_total", 0)
        for ours, split in (("exact_match", "exact"), ("f1", "f1")):
            weighted = sum(result.get(f"{g}_{split}", 0.0) * result.get(f"{g}_total", 0)
                           for g in ("HasAns", "NoAns")) / result["total"]
            assert result[ours] == pytest.approx(weighted), f"case {case}: {gold} {predictions}"
            assert 0.0 <= result[ours] <= 100.0
        assert result["exact_match"] <= result["f1"] + 1e-9  # an exact match is also F1 1


# --- tagging ----------------------------------------------------------------

def test_entity_spans_follow_seqeval_lenient_rules():
    assert fm.entity_spans(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 2), ("LOC", 3, 4)]
    # I- after O or after another type starts an entity; B- always does.
    assert fm.entity_spans(["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-PER"]) == [
        ("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 5), ("PER", 5, 6)]
    # IOBES: S- is one token; E- closes; E- after E- starts again.
    assert fm.entity_spans(["S-PER", "B-LOC", "E-LOC", "E-LOC", "I-LOC"]) == [
        ("PER", 0, 1), ("LOC", 1, 3), ("LOC", 3, 4), ("LOC", 4, 5)]
    assert fm.entity_spans(["B-ORG-GOV", "I-ORG-GOV"]) == [("ORG-GOV", 0, 2)]
    assert fm.entity_spans([]) == []


@pytest.mark.parametrize("tag", ["X-PER", "B-", "PER", "b-PER", ""])
def test_entity_spans_refuse_unknown_tags(tag):
    with pytest.raises(ValueError, match=f"tag {tag!r} at position 1"):
        fm.entity_spans(["O", tag])


def test_tagging_scores_by_hand():
    gold = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    predicted = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    assert fm.tagging_scores(gold, predicted) == {
        "precision": 0.5, "recall": 0.5, "f1": 0.5, "accuracy": pytest.approx(0.8)}
    # Entities do not run across sentences.
    assert fm.tagging_scores([["B-PER"], ["I-PER"]], [["B-PER", ], ["B-PER"]])["recall"] == 1.0
    # No predicted entity: every entity score is 0, not NaN.
    assert fm.tagging_scores([["B-PER", "O"]], [["O", "O"]]) == {
        "precision": 0.0, "recall": 0.0, "f1": 0.0, "accuracy": 0.5}


def test_tagging_scores_refuse_bad_shapes():
    with pytest.raises(ValueError, match="2 gold sequences but 1"):
        fm.tagging_scores([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="sentence 1 has 2 gold tags but 1"):
        fm.tagging_scores([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(ValueError, match="no tokens"):
        fm.tagging_scores([[], []], [[], []])
    with pytest.raises(ValueError, match="no tokens"):
        fm.tagging_scores([], [])


TAGGING_CASES = 500
TYPES = ("PER", "LOC", "MISC")


def _random_tags(rng, n, prefixes):
    tags = []
    for _ in range(n):
        prefix = rng.choice(prefixes)
        tags.append("O" if prefix == "O" else f"{prefix}-{rng.choice(TYPES)}")
    return tags


def _random_corpus(rng):
    # Half the cases use only B/I/O (IOB2 with malformed runs), half add E-/S- (IOBES).
    prefixes = ["O", "O", "B", "I"] + (["E", "S"] if rng.random() < 0.5 else [])
    gold = [_random_tags(rng, int(rng.integers(0, 12)), prefixes) for _ in range(int(rng.integers(1, 6)))]
    predicted = []
    for sentence in gold:
        mutated = list(sentence)
        rate = rng.random()
        for i in range(len(mutated)):
            if rng.random() < rate:
                mutated[i] = _random_tags(rng, 1, prefixes)[0]
        predicted.append(mutated)
    if sum(map(len, gold)) == 0:
        gold[0], predicted[0] = ["B-PER"], ["I-PER"]
    return gold, predicted


def test_tagging_matches_seqeval_on_random_sequences():
    from seqeval import metrics as seqeval
    from seqeval.metrics.sequence_labeling import get_entities

    rng = np.random.default_rng(11)
    compared = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval's UndefinedMetricWarning
        for case in range(TAGGING_CASES):
            gold, predicted = _random_corpus(rng)
            where = f"case {case}: gold={gold} predicted={predicted}"
            for sentence in gold + predicted:
                expected = [(t, start, stop + 1) for t, start, stop in get_entities(sentence)]
                assert fm.entity_spans(sentence) == expected, (sentence, where)
            ours = fm.tagging_scores(gold, predicted)
            theirs = {"precision": seqeval.precision_score(gold, predicted),
                      "recall": seqeval.recall_score(gold, predicted),
                      "f1": seqeval.f1_score(gold, predicted),
                      "accuracy": seqeval.accuracy_score(gold, predicted)}
            assert ours == pytest.approx(theirs, abs=1e-12), where
            compared += ours["f1"] > 0
    assert compared > TAGGING_CASES // 2  # most cases have matching entities, not only zeros
