"""Per-epoch evaluation of a fine-tuning run: the task's metrics, appended to eval_results.json.

`<model_dir>/eval_results.json` is a list with one object per epoch: `epoch` and the metrics
by their official names (accuracy, f1, matthews_corrcoef, pearson, spearman, ...).
"""

import json
import os

import numpy as np

from official_encoders.finetune import metrics

EVAL_RESULTS = "eval_results.json"


def append_eval_results(model_dir, epoch, scores):
    """Adds {"epoch": epoch, **scores} to `<model_dir>/eval_results.json`, replacing the file atomically."""
    os.makedirs(model_dir, exist_ok=True)
    path = os.path.join(model_dir, EVAL_RESULTS)
    entries = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)
    entries = [e for e in entries if e.get("epoch") != epoch] + [dict(epoch=epoch, **scores)]
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=2)
    os.replace(tmp, path)
    return entries


def sentence_prediction_evaluation(logits, labels, num_classes):
    """The GLUE metrics from a classifier's logits (argmax) or a regressor's single output."""
    logits = np.asarray(logits)
    predictions = logits[:, 0] if num_classes == 1 else np.argmax(logits, axis=-1)
    return metrics.sentence_prediction_scores(np.asarray(labels), predictions, num_classes)
