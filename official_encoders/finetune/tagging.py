"""--task=tagging: one tag per word (CoNLL-2003 named entities), learnt at each word's first piece.

Every word of a sentence is tokenized on its own into pieces (WordPiece or SentencePiece) (in the graph, the
sentence's words as one ragged batch). The first piece of a word carries the word's tag;
its other pieces, [CLS], [SEP] and padding carry `IGNORE` and do not count in the loss, as in
Hugging Face's `run_ner.py`. Training truncates a sentence to `seq_length - 2` pieces (the
words cut off are counted in `truncation`); evaluation predicts every word, through the
serving model's own windows of `seq_length - 2` pieces, so the exported model tags a text
exactly as the final evaluation tagged it.
"""

import numpy as np
import tensorflow as tf
from absl import logging

from official_encoders.finetune import metrics, readers
from official_encoders.finetune.task_base import FinetuneTask
from official_encoders.finetune.task_text import encoder_type_vocab_size, task_packer
from official_encoders.serving.token_classification import TokenClassificationServing
from official_encoders.tasks import TOKEN_CLASSIFICATION, build_task_model

IGNORE = -100  # the label of positions the loss skips (Hugging Face's ignore_index)
OUTSIDE = "O"


def tagging_label_names(examples):
    """The sorted set of the examples' tags, with "O" first when it occurs."""
    tags = {tag for example in examples for tag in example.tags}
    return ([OUTSIDE] if OUTSIDE in tags else []) + sorted(tags - {OUTSIDE})


def word_pieces(tokenizer, words):
    """Piece ids [batch, (words), (pieces)] of words [batch, (words)] strings, each word on its own."""
    return words.with_flat_values(tokenizer.tokenize(words.flat_values))


def first_piece_labels(pieces, word_labels):
    """Labels [batch, (pieces)]: each word's label at its first piece, IGNORE at its other pieces.

    Args:
      pieces: ids [batch, (words), (pieces)].
      word_labels: int32 [batch, (words)], one label per word.
    """
    piece_word = pieces.values.value_rowids()
    first = tf.cumsum(pieces.values.row_lengths(), exclusive=True)
    is_first = tf.range(tf.size(piece_word, out_type=tf.int64)) == tf.gather(first, piece_word)
    labels = tf.where(is_first, tf.gather(word_labels.flat_values, piece_word), IGNORE)
    return pieces.merge_dims(1, 2).with_flat_values(labels)


def first_pieces_within(piece_counts, row_splits):
    """Each word's first-piece position in its own sentence, from per-word piece counts (numpy)."""
    starts = np.cumsum(piece_counts) - piece_counts
    sentence_start = starts[row_splits[:-1]] if len(starts) else starts
    return starts - np.repeat(sentence_start, np.diff(row_splits))


def _ragged(rows, dtype):
    """[len(rows), (row length)] from a list of sequences (faster than tf.ragged.constant on a corpus)."""
    return tf.RaggedTensor.from_row_lengths(tf.constant([x for row in rows for x in row], dtype),
                                            tf.constant([len(row) for row in rows], tf.int64))


class TaggingTask(FinetuneTask):
    """Token classification of CoNLL-2003 columns or JSON lines, scored by seqeval's entity F1.

    Targets are {"labels": int32 [B, S]}, IGNORE where no word starts. After `dataset`,
    `truncation` holds how many sentences and words its batches cut at `seq_length` (also
    logged), and `skipped` describes the sentences skipped with `skip_bad_examples` (tags the
    training data does not have).

    Args:
      params: the run's `FinetuneParams` (seq_length, batch_size, seed, skip_bad_examples).

    Example:

        task = TaggingTask(params)
        train = task.read("train.conll").examples
        labels = task.label_names(train)              # ["O", "B-LOC", "B-PER", ...]
        model = task.build_model(encoder, labels)
        scores = task.evaluate(model, task.read("dev.conll").examples, text, labels, model_dir)
        scores["f1"]
    """

    name = "tagging"
    model_task = TOKEN_CLASSIFICATION
    monitor = "f1"

    def __init__(self, params):
        super().__init__(params)
        self.truncation = {"sentences": 0, "words": 0, "total_words": 0}
        self.skipped = []

    def read(self, path):
        return readers.read_tagging(path, getattr(self.params, "skip_bad_examples", False))

    def label_names(self, train_examples):
        return tagging_label_names(train_examples)

    def build_model(self, encoder, label_names):
        return build_task_model(self.model_task, encoder, id2label=dict(enumerate(label_names)),
                                dropout=getattr(self.params, "dropout", None))

    # ---- data ------------------------------------------------------------------------
    def _packer(self, text, type_vocab_size=None):
        if self.params.seq_length < 3:
            raise ValueError(f"--task=tagging needs seq_length >= 3 ([CLS], a piece, [SEP]); got "
                             f"{self.params.seq_length}.")
        return task_packer(text, self.params.seq_length, self.name, type_vocab_size, needs_offsets=True)

    def _known(self, examples, label_names):
        """(examples whose tags are all in label_names, their tag ids); a stranger is a bad record."""
        index = {name: i for i, name in enumerate(label_names)}

        def problem(example):
            unknown = sorted(set(example.tags) - set(index))
            if unknown:
                return f"tags {unknown} do not occur in the training data (its tags: {label_names})"
            return None

        kept = readers.keep_good_records(examples, problem, getattr(self.params, "skip_bad_examples", False),
                                         self.skipped, what="sentence")
        if len(kept) < len(examples):
            logging.warning("Skipped %d of %d sentences with tags the training data does not have.",
                            len(examples) - len(kept), len(examples))
        return kept, [[index[tag] for tag in example.tags] for example in kept]

    def _pieces(self, tokenizer, examples):
        """Piece ids [N, (words), (pieces)] of every sentence, tokenized in the graph in batches."""
        words = _ragged([e.tokens for e in examples], tf.string)
        batches = tf.data.Dataset.from_tensor_slices(words).batch(2048).map(
            lambda batch: word_pieces(tokenizer, batch))
        return tf.concat(list(batches), axis=0)

    def _count_truncation(self, pieces, training):
        keep = self.params.seq_length - 2
        counts, splits = pieces.values.row_lengths().numpy(), pieces.row_splits.numpy()
        cut = (counts > 0) & (first_pieces_within(counts, splits) >= keep)
        sentence = np.repeat(np.arange(len(splits) - 1), np.diff(splits))
        self.truncation = {"sentences": int(len(np.unique(sentence[cut]))), "words": int(cut.sum()),
                           "total_words": int(len(counts))}
        if cut.any():
            logging.warning("seq_length=%d truncates %d of %d %s words (in %d sentences); their tags are "
                            "not in the batches.", self.params.seq_length, self.truncation["words"], len(counts),
                            "training" if training else "evaluation", self.truncation["sentences"])

    def dataset(self, examples, text, label_names, training):
        packer = self._packer(text)
        examples, tag_ids = self._known(examples, label_names)
        pieces = self._pieces(packer.tokenizer, examples)
        self._count_truncation(pieces, training)
        keep = packer.max_seq_length - 2
        dataset = tf.data.Dataset.from_tensor_slices((pieces, _ragged(tag_ids, tf.int32)))
        if training:
            dataset = dataset.shuffle(len(examples), seed=self.params.seed, reshuffle_each_iteration=True)

        def encode(batch_pieces, batch_tags):
            ids = batch_pieces.merge_dims(1, 2)[:, :keep]
            labels = first_piece_labels(batch_pieces, batch_tags)[:, :keep].to_tensor(IGNORE)
            inputs = packer.pack([ids])
            width = tf.shape(inputs["input_word_ids"])[1]
            # [CLS] first; [SEP] and padding after the kept pieces.
            labels = tf.pad(labels, [[0, 0], [1, width - 1 - tf.shape(labels)[1]]], constant_values=IGNORE)
            return inputs, {"labels": labels}

        dataset = dataset.batch(self.params.batch_size).map(encode, num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.prefetch(tf.data.AUTOTUNE)

    def loss(self, targets, outputs):
        labels = targets["labels"]
        labelled = tf.not_equal(labels, IGNORE)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.where(labelled, labels, 0), logits=tf.cast(outputs["logits"], tf.float32))
        weights = tf.cast(labelled, tf.float32)
        return tf.reduce_sum(losses * weights), tf.reduce_sum(weights)

    # ---- evaluation and serving ----------------------------------------------------
    def predict_tags(self, model, examples, text, label_names):
        """The predicted tag of every word of `examples`: the argmax at its first piece.

        Runs the serving module's `piece_scores` (its windows of seq_length - 2 pieces), so
        no word is cut; a word without pieces (nothing left after normalisation) gets "O".
        """
        serving = self.serving_module(model, text, label_names)
        scores = tf.function(serving.piece_scores, reduce_retracing=True)
        pieces = self._pieces(serving.packer.tokenizer, examples)
        fallback = label_names.index(OUTSIDE) if OUTSIDE in label_names else 0
        predicted = []
        for begin in range(0, len(examples), self.params.batch_size):
            batch = pieces[begin:begin + self.params.batch_size]
            classes = tf.argmax(scores(batch.merge_dims(1, 2)), axis=-1).numpy()
            counts = batch.values.row_lengths().numpy()
            first = np.minimum(np.cumsum(counts) - counts, max(len(classes) - 1, 0))
            word_class = np.where(counts > 0, classes[first] if len(classes) else fallback, fallback)
            splits = batch.row_splits.numpy()
            predicted += [[label_names[c] for c in word_class[a:b]] for a, b in zip(splits[:-1], splits[1:])]
        return predicted

    def evaluate(self, model, examples, text, label_names, output_dir):
        examples, _ = self._known(examples, label_names)
        predicted = self.predict_tags(model, examples, text, label_names)
        return metrics.tagging_scores([list(e.tags) for e in examples], predicted)

    def serving_module(self, model, text, label_names):
        packer = self._packer(text, encoder_type_vocab_size(model))
        return TokenClassificationServing(model, packer, label_names)

    def settings(self):
        return {"seq_length": self.params.seq_length, "label_piece": "first"}
