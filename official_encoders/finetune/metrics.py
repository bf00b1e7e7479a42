"""Evaluation metrics of the fine-tuning tasks, computed as the tasks' official scripts do.

Every metric is a small pure function over plain Python or numpy values, so the
fine-tuning loop can call it on gathered predictions once per epoch and a test
can compare it with the reference implementation (scikit-learn, scipy.stats,
seqeval, the SQuAD evaluation scripts). Only numpy and the standard library are
imported: no TensorFlow, and no scipy or scikit-learn at run time.

- sentence_prediction: `accuracy`, `f1`, `matthews_corrcoef`; `pearson` and
  `spearman` for regression (one output).
- question_answering: `squad_exact_match_and_f1` (v1.1, and v2.0 with its
  HasAns_/NoAns_ split).
- tagging: `tagging_scores` (entity-level precision, recall, F1 as seqeval's
  default mode, plus token accuracy) over `entity_spans`.
- multiple_choice: `accuracy`.

`metrics_for_task` picks the metrics of a task by its name.
"""

import collections
import re
import string

import numpy as np


# ---------------------------------------------------------------------------
# Classification and regression (GLUE-style sentence_prediction, multiple choice)
# ---------------------------------------------------------------------------

def _paired(labels, predictions, *, dtype=None):
    """labels and predictions as equal-length, non-empty 1-D arrays."""
    labels = np.asarray(labels, dtype=dtype)
    predictions = np.asarray(predictions, dtype=dtype)
    if labels.ndim != 1 or predictions.ndim != 1:
        raise ValueError(f"labels and predictions must be 1-D; got shapes {labels.shape} and "
                         f"{predictions.shape}")
    if len(labels) != len(predictions):
        raise ValueError(f"labels and predictions differ in length: {len(labels)} labels, "
                         f"{len(predictions)} predictions")
    if len(labels) == 0:
        raise ValueError("no examples: labels and predictions are empty")
    return labels, predictions


def accuracy(labels, predictions):
    """The fraction of predictions equal to their label (sklearn's accuracy_score).

    Also the metric of multiple choice, where a label is the index of the right choice.
    """
    labels, predictions = _paired(labels, predictions)
    return float(np.mean(labels == predictions))


def _class_f1(labels, predictions, cls):
    """F1 of one class taken as the positive one; 0.0 when it is in neither array."""
    true_positives = int(np.sum((labels == cls) & (predictions == cls)))
    false_positives = int(np.sum((labels != cls) & (predictions == cls)))
    false_negatives = int(np.sum((labels == cls) & (predictions != cls)))
    denominator = 2 * true_positives + false_positives + false_negatives
    return 2 * true_positives / denominator if denominator else 0.0


def f1(labels, predictions, average="binary"):
    """F1 score of class predictions.

    average="binary" (the default, for two classes): F1 of class 1, the positive class,
    as GLUE's MRPC and QQP report it (sklearn's f1_score default). Labels and
    predictions must then be 0 or 1; with no 1 anywhere the score is 0.0, as sklearn's.

    average="macro" (what `metrics_for_task` uses for three or more classes): the
    unweighted mean of each class's one-vs-rest F1, over the classes that occur in
    the labels or the predictions (sklearn's f1_score(average="macro")). A class that
    never occurs does not count, so the score does not depend on the label list.
    """
    labels, predictions = _paired(labels, predictions)
    if average == "binary":
        values = set(np.unique(labels).tolist()) | set(np.unique(predictions).tolist())
        if not values <= {0, 1}:
            raise ValueError(f"binary F1 needs labels and predictions in {{0, 1}}; found "
                             f"{sorted(values)}. Use average='macro' for more classes.")
        return _class_f1(labels, predictions, 1)
    if average == "macro":
        classes = np.union1d(labels, predictions)
        return float(np.mean([_class_f1(labels, predictions, c) for c in classes]))
    raise ValueError(f"average must be 'binary' or 'macro', not {average!r}")


def matthews_corrcoef(labels, predictions):
    """Matthews correlation coefficient, multi-class form (as sklearn's, used for CoLA).

    Computed from the confusion matrix: (correct * n - sum_k true_k * pred_k) /
    sqrt((n^2 - sum_k pred_k^2) * (n^2 - sum_k true_k^2)). It is 0.0 when the
    denominator is 0 (all labels, or all predictions, one class), as sklearn returns.
    """
    labels, predictions = _paired(labels, predictions)
    classes, index = np.unique(np.concatenate([labels, predictions]), return_inverse=True)
    n = len(labels)
    true_counts = np.bincount(index[:n], minlength=len(classes))
    pred_counts = np.bincount(index[n:], minlength=len(classes))
    correct = int(np.sum(labels == predictions))
    # Python ints: n^2 overflows nothing, and the zero test is exact.
    covariance = correct * n - int(np.dot(true_counts, pred_counts))
    pred_spread = n * n - int(np.dot(pred_counts, pred_counts))
    true_spread = n * n - int(np.dot(true_counts, true_counts))
    if pred_spread == 0 or true_spread == 0:
        return 0.0
    return float(covariance / np.sqrt(float(pred_spread) * float(true_spread)))


def _regression_pair(labels, predictions):
    labels, predictions = _paired(labels, predictions, dtype=np.float64)
    if len(labels) < 2:
        raise ValueError(f"a correlation needs at least 2 examples; got {len(labels)}")
    return labels, predictions


def _correlation(x, y):
    """Pearson's r of two float arrays; NaN when either is constant."""
    if np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    x = x - x.mean()
    y = y - y.mean()
    r = np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y))
    return float(np.clip(r, -1.0, 1.0))


def pearson(labels, predictions):
    """Pearson correlation (STS-B's first metric), as scipy.stats.pearsonr's statistic.

    NaN when the labels or the predictions are constant (a regression head that
    predicts one value), which is what scipy returns; at least 2 examples are needed.
    """
    return _correlation(*_regression_pair(labels, predictions))


def _average_ranks(values):
    """1-based ranks; tied values share the mean of their ranks (scipy's rankdata 'average')."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    # Each run of equal values [start, stop) takes rank (start + 1 + stop) / 2.
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    stops = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat((starts + 1 + stops) / 2.0, stops - starts)
    return ranks


def spearman(labels, predictions):
    """Spearman rank correlation (STS-B's second metric), as scipy.stats.spearmanr's.

    The Pearson correlation of the average ranks, so ties count as scipy counts them.
    NaN for constant labels or predictions, as scipy; at least 2 examples are needed.
    """
    labels, predictions = _regression_pair(labels, predictions)
    return _correlation(_average_ranks(labels), _average_ranks(predictions))


def sentence_prediction_scores(labels, predictions, num_classes):
    """The GLUE metrics of a classifier with num_classes outputs (1 means regression).

    predictions are class ids (the argmax of the logits), or the regression values.
    Regression: pearson and spearman. Classification: accuracy, f1 (binary for two
    classes, macro for more; see `f1`) and matthews_corrcoef.
    """
    if num_classes == 1:
        return {"pearson": pearson(labels, predictions),
                "spearman": spearman(labels, predictions)}
    return {"accuracy": accuracy(labels, predictions),
            "f1": f1(labels, predictions, average="binary" if num_classes == 2 else "macro"),
            "matthews_corrcoef": matthews_corrcoef(labels, predictions)}


def multiple_choice_scores(labels, predictions):
    """Multiple choice is scored by accuracy of the chosen index."""
    return {"accuracy": accuracy(labels, predictions)}


# ---------------------------------------------------------------------------
# Extractive question answering (SQuAD v1.1 and v2.0)
# ---------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text):
    """SQuAD's answer normalisation: lower-case, drop ASCII punctuation, drop the
    articles a/an/the, collapse white space, in that order (so "the-end" keeps "theend")."""
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _token_f1(gold_tokens, predicted_tokens):
    """F1 of the bag-of-tokens overlap between two normalised answers."""
    overlap = sum((collections.Counter(gold_tokens) & collections.Counter(predicted_tokens)).values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(predicted_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def _scores_v1(answers, prediction):
    """Exact match and F1 (0/1 scale) of one question as the v1.1 script scores it."""
    predicted = normalize_answer(prediction)
    exact = max(float(normalize_answer(a) == predicted) for a in answers)
    best_f1 = max(_token_f1(normalize_answer(a).split(), predicted.split()) for a in answers)
    return exact, best_f1


def _scores_v2(answers, prediction):
    """Exact match and F1 of one question as the v2.0 script scores it.

    Gold answers that normalise to nothing are dropped; a question left without any
    is unanswerable, whose only right answer is the empty string. F1 against an empty
    answer is 1 when both are empty and 0 otherwise.
    """
    answers = [a for a in answers if normalize_answer(a)] or [""]
    predicted = normalize_answer(prediction)
    exact = max(float(normalize_answer(a) == predicted) for a in answers)
    f1s = []
    for answer in answers:
        gold_tokens, predicted_tokens = normalize_answer(answer).split(), predicted.split()
        if not gold_tokens or not predicted_tokens:
            f1s.append(float(gold_tokens == predicted_tokens))
        else:
            f1s.append(_token_f1(gold_tokens, predicted_tokens))
    return exact, max(f1s)


def _percent_of(scores, ids):
    return 100.0 * sum(scores[i] for i in ids) / len(ids)


def squad_exact_match_and_f1(predictions, gold, version=None):
    """SQuAD exact match and F1 on the official scripts' 0-100 scale.

    Args:
        predictions: dict, question id -> predicted answer text ("" for no answer).
            Ids that are not in `gold` are ignored, as the official scripts ignore them.
        gold: dict, question id -> list of gold answer texts; an empty list marks an
            unanswerable (SQuAD v2.0) question.
        version: "1.1" or "2.0"; by default "2.0" when any question is unanswerable.

    Each question scores its best over its gold answers, with `normalize_answer` and
    the bag-of-tokens F1. Version 2.0 adds the official v2 split: `HasAns_exact`,
    `HasAns_f1`, `HasAns_total` over answerable questions and `NoAns_*` over the
    unanswerable ones (each present when that group is non-empty), where an empty
    prediction for an unanswerable question scores 1. Returns a dict with
    `exact_match`, `f1` and `total` (the number of questions) and those keys.

    Every gold question needs a prediction: a missing one raises ValueError (v1.1
    would silently score it 0 and v2.0 would leave it out of the totals).
    """
    if not gold:
        raise ValueError("no gold questions to score")
    missing = [qid for qid in gold if qid not in predictions]
    if missing:
        raise ValueError(f"{len(missing)} of {len(gold)} questions have no prediction, "
                         f"for example {missing[:5]}")
    if version is None:
        version = "2.0" if any(not answers for answers in gold.values()) else "1.1"
    if version == "1.1":
        empty = [qid for qid, answers in gold.items() if not answers]
        if empty:
            raise ValueError(f"SQuAD v1.1 has no unanswerable questions, but {len(empty)} have "
                             f"no gold answer, for example {empty[:5]}; use version='2.0'")
        score_one = _scores_v1
    elif version == "2.0":
        score_one = _scores_v2
    else:
        raise ValueError(f"version must be '1.1' or '2.0', not {version!r}")

    exact, f1s = {}, {}
    for qid, answers in gold.items():
        exact[qid], f1s[qid] = score_one(list(answers), predictions[qid])
    ids = list(gold)
    result = {"exact_match": _percent_of(exact, ids), "f1": _percent_of(f1s, ids), "total": len(ids)}
    if version == "2.0":
        for prefix, group in (("HasAns", [q for q in ids if gold[q]]),
                              ("NoAns", [q for q in ids if not gold[q]])):
            if group:
                result[f"{prefix}_exact"] = _percent_of(exact, group)
                result[f"{prefix}_f1"] = _percent_of(f1s, group)
                result[f"{prefix}_total"] = len(group)
    return result


# ---------------------------------------------------------------------------
# Tagging (CoNLL-style named entities)
# ---------------------------------------------------------------------------

def _split_tag(tag, position):
    """('B'|'I'|'E'|'S', type) of a tag, or ('O', None)."""
    if tag == "O":
        return "O", None
    if len(tag) > 2 and tag[0] in "BIES" and tag[1] == "-":
        return tag[0], tag[2:]
    raise ValueError(f"tag {tag!r} at position {position} is neither 'O' nor B-, I-, E- or S- "
                     "followed by an entity type")


def entity_spans(tags):
    """The entities of one tag sequence, as (type, start, stop) with stop exclusive.

    The chunk rules are seqeval's default (conlleval-like, lenient) mode, so
    IOB2, IOB1 and IOBES sequences, malformed ones included, split as seqeval splits
    them: every non-O tag belongs to an entity, and a tag continues the entity of
    the tag before it only when it is I- or E-, the one before is B- or I-, and both
    have the same type. So an I- after O, after an E- or S-, or after another type
    starts a new entity; B- and S- always start one, and E- and S- end theirs.
    """
    spans = []
    previous_prefix, previous_type = "O", None
    for position, tag in enumerate(tags):
        prefix, type_ = _split_tag(tag, position)
        continues = (prefix in "IE" and previous_prefix in "BI" and type_ == previous_type)
        if prefix == "O":
            pass
        elif continues:
            spans[-1][2] = position + 1
        else:
            spans.append([type_, position, position + 1])
        previous_prefix, previous_type = prefix, type_
    return [tuple(span) for span in spans]


def tagging_scores(gold_sequences, predicted_sequences):
    """Entity-level precision, recall and F1 and token accuracy over tagged sentences.

    Entities come from `entity_spans`. Precision, recall and F1 are micro-averaged
    over all entity types, an entity counting only when its type, start and stop all
    match: seqeval's precision_score, recall_score and f1_score defaults (a
    conlleval-style count). A score whose denominator is 0 (no predicted or no
    gold entities) is 0.0, as seqeval's default. accuracy is the fraction of tokens
    whose tag is right (seqeval's accuracy_score).
    """
    if len(gold_sequences) != len(predicted_sequences):
        raise ValueError(f"{len(gold_sequences)} gold sequences but {len(predicted_sequences)} "
                         "predicted ones")
    gold_entities, predicted_entities = set(), set()
    tokens = correct_tokens = 0
    for sentence, (gold, predicted) in enumerate(zip(gold_sequences, predicted_sequences)):
        if len(gold) != len(predicted):
            raise ValueError(f"sentence {sentence} has {len(gold)} gold tags but "
                             f"{len(predicted)} predicted tags")
        gold_entities.update((sentence,) + span for span in entity_spans(gold))
        predicted_entities.update((sentence,) + span for span in entity_spans(predicted))
        tokens += len(gold)
        correct_tokens += sum(g == p for g, p in zip(gold, predicted))
    if tokens == 0:
        raise ValueError("no tokens: every sequence is empty")
    hits = len(gold_entities & predicted_entities)
    precision = hits / len(predicted_entities) if predicted_entities else 0.0
    recall = hits / len(gold_entities) if gold_entities else 0.0
    f1_score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1_score,
            "accuracy": correct_tokens / tokens}


# ---------------------------------------------------------------------------

def _question_answering_scores(labels, predictions, **options):
    return squad_exact_match_and_f1(predictions, labels, **options)


_TASK_SCORES = {
    "sentence_prediction": sentence_prediction_scores,
    "question_answering": _question_answering_scores,
    "tagging": tagging_scores,
    "multiple_choice": multiple_choice_scores,
}


def metrics_for_task(task, labels, predictions, **options):
    """The metrics dict of one task; options go to its scorer.

    sentence_prediction needs num_classes=; question_answering takes the gold dict as
    labels and the predictions dict as predictions (and an optional version=).
    """
    if task not in _TASK_SCORES:
        raise ValueError(f"unknown task {task!r}; expected one of {sorted(_TASK_SCORES)}")
    return _TASK_SCORES[task](labels, predictions, **options)
