"""`--task=sentence_prediction`: GLUE-style classification or (with `--num_labels=1`) regression.

Data: a TSV/CSV file with one or two text columns and a label column
(`finetune.data.read_examples`). Classification learns the label names of the
training data (sorted) with cross-entropy and reports accuracy, F1 and Matthews
correlation; regression (STS-B style) reads float labels, learns them with the
squared error and reports Pearson and Spearman correlation.
"""

import dataclasses
from typing import Tuple

import numpy as np
import tensorflow as tf

from official_encoders.finetune.data import read_examples
from official_encoders.finetune.evaluation import sentence_prediction_evaluation
from official_encoders.finetune.readers import BadExampleError, ReadResult
from official_encoders.finetune.task_base import FinetuneTask
from official_encoders.serving.sequence_classification import SequenceClassificationServing
from official_encoders.tasks import SEQUENCE_CLASSIFICATION, build_task_model

REGRESSION_LABELS = ("score",)  # the serving module's one "label" of a regressor


@dataclasses.dataclass(frozen=True)
class SentenceExample:
    """One row: its one or two texts and its label as written in the file."""

    texts: Tuple[str, ...]
    label: str


class SentencePredictionTask(FinetuneTask):
    """Sentence or sentence-pair classification, or regression with `params.num_labels == 1`.

    Targets are {"label": int32 [B]} (class ids) or {"label": float32 [B]} (regression);
    the model is `build_task_model("sequence_classification", ...)`, or, for a foreign
    hub encoder (a `HubLayer`), `finetune.model.hub_layer_classifier`.

    Example:

        task = SentencePredictionTask(FinetuneParams(train_data="train.tsv", num_labels=1))
        examples = task.read("train.tsv").examples
    """

    name = "sentence_prediction"
    model_task = SEQUENCE_CLASSIFICATION
    monitor = "accuracy"

    def __init__(self, params):
        super().__init__(params)
        self.regression = params.num_labels == 1
        if self.regression:
            self.monitor = "pearson"
        self._known_labels = None

    # ---------------------------------------------------------------- data
    def read(self, path):
        texts, labels = read_examples(path, self.params.text_column_list, self.params.label_column,
                                      self.params.has_header)
        examples, skipped = [], []
        for index, (row, label) in enumerate(zip(texts, labels), 1):
            problem = self._label_problem(label)
            if problem is None:
                examples.append(SentenceExample(row, label))
                continue
            message = f"{path}: example {index}: {problem}"
            if not self.params.skip_bad_examples:
                raise BadExampleError(message + " (pass --skip_bad_examples to count and skip such records)")
            skipped.append(message)
        if not examples:
            raise BadExampleError(f"{path}: no usable examples ({len(skipped)} bad records skipped)")
        return ReadResult(examples, skipped)

    def _label_problem(self, label):
        if self.regression:
            try:
                value = float(label)
            except ValueError:
                return f"label {label!r} is not a number (--num_labels=1 is regression)"
            return None if np.isfinite(value) else f"label {label!r} is not finite"
        if self._known_labels is not None and label not in self._known_labels:
            return (f"label {label!r} is not in the label set of the training data "
                    f"{sorted(self._known_labels)}")
        return None

    def label_names(self, train_examples):
        if self.regression:
            return None
        names = sorted({e.label for e in train_examples})
        if self.params.num_labels is not None and len(names) != self.params.num_labels:
            raise ValueError(f"--num_labels={self.params.num_labels} but {self.params.train_data} has "
                             f"{len(names)} labels: {names}.")
        self._known_labels = set(names)
        return names

    def _targets(self, examples, label_names):
        if self.regression:
            return np.array([float(e.label) for e in examples], np.float32)
        index = {name: i for i, name in enumerate(label_names)}
        return np.array([index[e.label] for e in examples], np.int32)

    def dataset(self, examples, text, label_names, training):
        num_texts = len(examples[0].texts)
        columns = tuple(tf.constant([e.texts[i] for e in examples]) for i in range(num_texts))
        dataset = tf.data.Dataset.from_tensor_slices((columns, self._targets(examples, label_names)))
        if training:
            dataset = dataset.shuffle(len(examples), seed=self.params.seed)
        dataset = dataset.batch(self.params.batch_size)
        packer = text.packer

        def encode(segments, labels):
            return packer.pack([packer.tokenize(s) for s in segments]), {"label": labels}

        return dataset.map(encode).prefetch(tf.data.AUTOTUNE)

    # ---------------------------------------------------------------- model
    def build_model(self, encoder, label_names):
        from official_encoders.hub.hub_layer import HubLayer

        num_labels = 1 if self.regression else len(label_names)
        if isinstance(encoder, HubLayer):
            from official_encoders.finetune.model import hub_layer_classifier

            return hub_layer_classifier(encoder, num_labels, self.params.dropout)
        id2label = None if self.regression else dict(enumerate(label_names))
        return build_task_model(self.model_task, encoder, num_labels=num_labels, id2label=id2label,
                                dropout=self.params.dropout)

    def loss(self, targets, outputs):
        logits = tf.cast(outputs["logits"], tf.float32)
        labels = targets["label"]
        if self.regression:
            per_example = tf.square(logits[:, 0] - tf.cast(labels, tf.float32))
        else:
            per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32),
                                                                         logits=logits)
        return tf.reduce_sum(per_example), tf.cast(tf.shape(labels)[0], tf.float32)

    # ---------------------------------------------------------------- evaluation and serving
    def predict_logits(self, model, examples, text, label_names):
        """The model's float32 logits [N, C] for `examples`, in order (training=False)."""
        batches = [tf.cast(model(inputs, training=False)["logits"], tf.float32).numpy()
                   for inputs, _ in self.dataset(examples, text, label_names, training=False)]
        return np.concatenate(batches, axis=0)

    def evaluate(self, model, examples, text, label_names, output_dir):
        del output_dir  # nothing to write besides the scores
        logits = self.predict_logits(model, examples, text, label_names)
        return sentence_prediction_evaluation(logits, self._targets(examples, label_names),
                                              1 if self.regression else len(label_names))

    def serving_module(self, model, text, label_names):
        labels = REGRESSION_LABELS if self.regression else label_names
        return SequenceClassificationServing(model, text.packer, labels,
                                             text_pairs=len(self.params.text_column_list) == 2)

    def settings(self):
        return {"seq_length": self.params.seq_length, "text_pairs": len(self.params.text_column_list) == 2,
                "regression": self.regression}
