"""--task=multiple_choice: SWAG-style questions, K endings each, the model picking one.

Choice k of an example is the pair (context, stem + " " + ending_k), the pairing of Hugging
Face's `run_swag.py`, packed by `serving.multiple_choice.pack_choices` into [B, K, S]
encoder inputs, S at most `seq_length`. The serving model gets the same pairs from
`prompt` = context and `choices` = `choice_texts(example)`, so it packs them the same way.
"""

import numpy as np
import tensorflow as tf

from official_encoders.finetune import metrics, readers
from official_encoders.finetune.task_base import FinetuneTask
from official_encoders.finetune.task_text import encoder_type_vocab_size, task_packer
from official_encoders.serving.multiple_choice import MultipleChoiceServing, pack_choices
from official_encoders.tasks import MULTIPLE_CHOICE, build_task_model


def choice_texts(example):
    """The second segment of each of the example's pairs: its stem, a space, the ending."""
    return [f"{example.stem} {ending}" for ending in example.endings]


class MultipleChoiceTask(FinetuneTask):
    """Multiple choice over SWAG CSV files, scored by accuracy.

    Targets are {"label": int32 [B]}, the index of the right ending. Every example needs a
    label; each file's examples have one number of endings (the reader checks it). The
    pairs' segment types follow the encoder of `build_model` (all 0 with type_vocab_size 1).

    Args:
      params: the run's `FinetuneParams` (seq_length, batch_size, seed, skip_bad_examples).

    Example:

        task = MultipleChoiceTask(params)
        model = task.build_model(encoder, None)
        train = task.dataset(task.read("train.csv").examples, text, None, training=True)
        task.evaluate(model, task.read("val.csv").examples, text, None, model_dir)["accuracy"]
    """

    name = "multiple_choice"
    model_task = MULTIPLE_CHOICE
    monitor = "accuracy"

    def __init__(self, params):
        super().__init__(params)
        self.skipped = []
        self._type_vocab_size = None  # the encoder's, once build_model has seen it

    def read(self, path):
        return readers.read_multiple_choice(path, getattr(self.params, "skip_bad_examples", False))

    def label_names(self, train_examples):
        return None

    def build_model(self, encoder, label_names):
        model = build_task_model(self.model_task, encoder, dropout=getattr(self.params, "dropout", None))
        self._type_vocab_size = encoder_type_vocab_size(model)
        return model

    def _packer(self, text, type_vocab_size=None):
        if text.tokenizer is None:  # a --preprocess_url run: its packer packs the pairs
            return text.packer
        return task_packer(text, self.params.seq_length, self.name, type_vocab_size)

    def _labelled(self, examples):
        """The examples with a label; one without is a bad record (it cannot be trained or scored)."""
        return readers.keep_good_records(
            examples, lambda e: "has no label (the index of the right ending)" if e.label is None else None,
            getattr(self.params, "skip_bad_examples", False), self.skipped, what="question")

    def _batches(self, examples, packer, shuffle):
        prompts = tf.constant([e.context for e in examples])
        choices = tf.constant([choice_texts(e) for e in examples])
        labels = tf.constant([e.label for e in examples], tf.int32)
        dataset = tf.data.Dataset.from_tensor_slices((prompts, choices, labels))
        if shuffle:
            dataset = dataset.shuffle(len(examples), seed=self.params.seed, reshuffle_each_iteration=True)
        dataset = dataset.batch(self.params.batch_size).map(
            lambda prompt, choice, label: (pack_choices(packer, prompt, choice), {"label": label}),
            num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.prefetch(tf.data.AUTOTUNE)

    def dataset(self, examples, text, label_names, training):
        return self._batches(self._labelled(examples), self._packer(text, self._type_vocab_size), training)

    def loss(self, targets, outputs):
        logits = tf.cast(outputs["logits"], tf.float32)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets["label"], logits=logits)
        return tf.reduce_sum(losses), tf.cast(tf.shape(losses)[0], tf.float32)

    def predict(self, model, examples, text):
        """The chosen ending of each example (argmax of the logits) and the labels, numpy int arrays."""
        examples = self._labelled(examples)
        packer = self._packer(text, encoder_type_vocab_size(model))
        logits = tf.function(lambda inputs: model(inputs, training=False)["logits"], reduce_retracing=True)
        chosen = [np.argmax(logits(inputs).numpy(), axis=-1) for inputs, _ in self._batches(examples, packer, False)]
        return np.concatenate(chosen), np.array([e.label for e in examples])

    def evaluate(self, model, examples, text, label_names, output_dir):
        chosen, labels = self.predict(model, examples, text)
        return metrics.multiple_choice_scores(labels, chosen)

    def serving_module(self, model, text, label_names):
        return MultipleChoiceServing(model, self._packer(text, encoder_type_vocab_size(model)))

    def settings(self):
        return {"seq_length": self.params.seq_length,
                "prompt": "the context (SWAG sent1)",
                "choices": "for each ending k: the stem (SWAG sent2), a space, ending k",
                "pairs": "(prompt, choice k) packed as two segments, truncated round robin to seq_length"}
