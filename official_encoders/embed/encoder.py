"""Texts -> sentence vectors, fast: sorted by length, packed per batch, preprocessed in tf.data.

A first pass counts each text's tokens (tokenization is cheap next to the
encoder); texts are sorted by that count so each batch holds texts of similar
length, and each batch is packed to its own longest sequence rounded up to a
multiple of 8 (the preprocessor's `seq_length=0`). Tokenization and packing
run in a `tf.data` pipeline (parallel map, prefetch), on other threads while
the encoder runs on the previous batch. Vectors come back in input order.
"""

import dataclasses
import logging
import sys
import time

import numpy as np
import tensorflow as tf

from official_encoders.embed import pooling as pooling_lib
from official_encoders.embed.loading import DEFAULT_MAX_SEQ_LENGTH, load_encoder
from preprocessors import packing
from preprocessors.packing import INPUT_KEYS

# Texts per tokenization call of the length pass.
_COUNT_BATCH = 512
# Inputs with at least this many texts get a progress bar unless progress=False.
PROGRESS_MIN_TEXTS = 2048

log = logging.getLogger(__name__)


@dataclasses.dataclass
class EncodeResult:
    """What `SentenceEncoder.encode` returns: the vectors and what it took to make them."""

    embeddings: np.ndarray  # float32 [N, H], in input order
    num_truncated: int  # texts longer than max_seq_length tokens ([CLS] and [SEP] included)
    seconds: float

    @property
    def texts_per_second(self):
        return len(self.embeddings) / self.seconds if self.seconds > 0 else float("inf")


def as_utf8_bytes(text, index=None):
    """`text` as bytes for the tokenizer; bytes pass as they are (invalid UTF-8 becomes U+FFFD there).

    A str holding lone surrogates (e.g. read with errors="surrogateescape") gets
    its original bytes back, or the surrogates' own bytes, never an exception.
    """
    if isinstance(text, bytes):
        return text
    if not isinstance(text, str):
        where = f"texts[{index}]" if index is not None else "a text"
        raise TypeError(f"{where} is a {type(text).__name__}, not a string; pass str or bytes.")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return text.encode("utf-8", "surrogatepass")


class SentenceEncoder:
    """An encoder with its preprocessor and pooling, loaded once to embed many texts.

    Args:
      model: a SavedModel path, http(s) or tensorflow_hub handle, checkpoint
        directory or catalog name (see `official_encoders.embed.loading`).
      batch_size: texts per encoder call.
      max_seq_length: tokens per text at most, [CLS] and [SEP] included; longer
        texts are truncated (and counted). None: the encoder's
        max_position_embeddings if known, else 512.
      pooling: "sentence_embedding", "mean", "cls" or "pooled"; None takes the
        model's `sentence_embedding` output if it has one, else "mean".
      normalize: L2-normalize the vectors; None means no (a `sentence_embedding`
        output already carries the model's own normalisation).

    Example:
    >>> encoder = SentenceEncoder(handle, batch_size=32)  # doctest: +SKIP
    >>> result = encoder.encode(["a man plays guitar", "the cat sleeps"])  # doctest: +SKIP
    >>> result.embeddings.shape, result.num_truncated  # doctest: +SKIP
    ((2, 384), 0)
    """

    def __init__(self, model, batch_size=64, max_seq_length=None, pooling=None, normalize=None):
        if int(batch_size) < 1:
            raise ValueError(f"batch_size={batch_size}: pass a positive number of texts per batch.")
        self.model = load_encoder(model)
        self.batch_size = int(batch_size)
        self.max_seq_length = self._check_max_seq_length(max_seq_length)
        self.pooling = pooling_lib.check_pooling(pooling, self.model.output_names)
        self.normalize = bool(normalize)
        packing.check_max_seq_length(self.max_seq_length, 1)
        self._special = dict(self.model.tokenizer.special_ids)
        self.preprocess = tf.function(self._preprocess, input_signature=[tf.TensorSpec([None], tf.string)])
        specs = {key: tf.TensorSpec([None, None], tf.int32, name=key) for key in INPUT_KEYS}
        self._embed = tf.function(self._embed_batch, input_signature=[specs])
        self._count = tf.function(lambda strings: self._tokens(strings).row_lengths(),
                                  input_signature=[tf.TensorSpec([None], tf.string)])
        empty = self.preprocess(tf.constant([], tf.string))[0]
        self.dim = int(self._embed(empty).shape[-1])

    def _check_max_seq_length(self, max_seq_length):
        limit = self.model.max_position_embeddings
        if max_seq_length is None:
            return limit or DEFAULT_MAX_SEQ_LENGTH
        if limit is not None and int(max_seq_length) > limit:
            raise ValueError(f"max_seq_length={max_seq_length} exceeds the encoder's max_position_embeddings "
                             f"{limit}; pass max_seq_length <= {limit}.")
        return int(max_seq_length)

    def _tokens(self, strings):
        tokens = self.model.tokenizer.tokenize(strings)
        if tokens.ragged_rank > 1:  # [batch, (words), (pieces)]
            tokens = tokens.merge_dims(-2, -1)
        return tokens

    def _preprocess(self, strings):
        """strings [B] -> (encoder inputs packed to the batch's longest, x8; truncated [B] bool).

        The saved preprocessor's root call with seq_length=0, plus the truncation flags.
        """
        tokens = self._tokens(strings)
        truncated = tokens.row_lengths() + 2 > self.max_seq_length
        packed = packing.bert_pack_inputs([tokens], 0, self._special, max_seq_length=self.max_seq_length)
        return {key: packed[key] for key in INPUT_KEYS}, truncated

    def _token_counts(self, strings):
        """Tokens per text (no [CLS]/[SEP]), int64 [N]: tokenized in parallel tf.data batches."""
        dataset = (tf.data.Dataset.from_tensor_slices(strings).batch(_COUNT_BATCH)
                   .map(self._count, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True))
        return np.concatenate([counts.numpy() for counts in dataset])

    def _embed_batch(self, inputs):
        outputs = self.model.call(inputs)
        return pooling_lib.pool(outputs, inputs["input_mask"], self.pooling, self.normalize)

    def encode(self, texts, progress=None):
        """Embeds `texts` (a list or iterable of str or bytes); returns an EncodeResult.

        progress: True/False shows/hides a progress bar on stderr; None shows it
        for inputs of PROGRESS_MIN_TEXTS texts or more.
        """
        started = time.perf_counter()
        data = [as_utf8_bytes(text, i) for i, text in enumerate(texts)]
        embeddings = np.zeros([len(data), self.dim], np.float32)
        if not data:
            return EncodeResult(embeddings, 0, time.perf_counter() - started)
        strings = np.empty(len(data), object)
        strings[:] = data
        counts = self._token_counts(strings)
        num_truncated = int(np.sum(counts + 2 > self.max_seq_length))
        order = np.argsort(-counts, kind="stable")
        dataset = (tf.data.Dataset.from_tensor_slices(strings[order])
                   .batch(self.batch_size)
                   .map(self.preprocess, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
                   .prefetch(tf.data.AUTOTUNE))
        bar = _ProgressBar(len(data)) if (progress or (progress is None and len(data) >= PROGRESS_MIN_TEXTS)) else None
        done = 0
        for inputs, _ in dataset:
            vectors = self._embed(inputs).numpy()
            embeddings[order[done:done + len(vectors)]] = vectors
            done += len(vectors)
            if bar:
                bar.update(done)
        seconds = time.perf_counter() - started
        if bar:
            bar.close(f"{num_truncated} truncated to {self.max_seq_length} tokens")
        return EncodeResult(embeddings, num_truncated, seconds)


class _ProgressBar:
    """One stderr line, redrawn at most every 0.5 s: done/total, percent, texts/s."""

    def __init__(self, total, width=30, stream=None):
        self.total, self.width, self.stream = total, width, stream or sys.stderr
        self.started = self.drawn = time.perf_counter()

    def update(self, done, force=False):
        now = time.perf_counter()
        if not force and now - self.drawn < 0.5 and done < self.total:
            return
        self.drawn = now
        filled = int(self.width * done / max(self.total, 1))
        rate = done / max(now - self.started, 1e-9)
        self.stream.write(f"\rencode [{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} "
                          f"({100 * done / max(self.total, 1):.0f}%) {rate:.0f} texts/s")
        self.stream.flush()

    def close(self, note):
        self.update(self.total, force=True)
        self.stream.write(f"; {note}\n")
        self.stream.flush()


def encode(model, texts, batch_size=64, max_seq_length=None, pooling=None, normalize=None, progress=None):
    """Sentence vectors for `texts`: a float32 numpy array [N, H] in input order.

    Loads `model` (see `SentenceEncoder`), sorts the texts by length into
    batches, packs each batch to its longest sequence (rounded up to x8) and
    runs tokenization in tf.data alongside the encoder. Texts longer than
    `max_seq_length` tokens are truncated; their count is logged. Empty strings,
    invalid UTF-8 (bytes, or str with lone surrogates) and zero texts are fine.

    Args:
      model: a SavedModel path, http(s) or tensorflow_hub handle, checkpoint
        directory or catalog name.
      texts: a list or iterable of str (or bytes).
      batch_size: texts per encoder call.
      max_seq_length: tokens per text at most ([CLS] and [SEP] included); None:
        the encoder's max_position_embeddings if known, else 512.
      pooling: "sentence_embedding", "mean", "cls" or "pooled"; None: the
        model's sentence_embedding output if it has one, else mean pooling.
      normalize: L2-normalize the vectors (None: no).
      progress: show a progress bar on stderr (None: for long inputs only).

    Example:
    >>> vectors = official_encoders.encode(handle, ["a man plays guitar", ""])  # doctest: +SKIP
    >>> vectors.shape  # doctest: +SKIP
    (2, 384)
    """
    encoder = SentenceEncoder(model, batch_size=batch_size, max_seq_length=max_seq_length,
                              pooling=pooling, normalize=normalize)
    result = encoder.encode(texts, progress=progress)
    if result.num_truncated:
        log.warning("encode: %d of %d texts were longer than max_seq_length=%d tokens and were truncated.",
                    result.num_truncated, len(result.embeddings), encoder.max_seq_length)
    return result.embeddings
