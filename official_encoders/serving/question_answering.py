"""Extractive question answering from raw strings, all in the TensorFlow graph.

`QuestionAnsweringServer(question, context)` tokenizes both (WordPiece or
SentencePiece, with byte offsets), packs them into overlapping windows (preprocessors.qa_windows), runs the
span model on every window and picks the answer as Hugging Face's
question-answering pipeline does (span_selection). Answers are aligned to whole
words of the context and are exact substrings of it: `start`/`end` count
characters (code points), `context[start:end] == answer`.
"""

import tensorflow as tf

from official_encoders.serving import span_selection
from preprocessors.packing import INPUT_KEYS
from preprocessors.qa_windows import check_window_settings, question_context_windows
from preprocessors.unicode_rules import sanitize_utf8

OUTPUTS = {
    "answer": "string [batch], an exact substring of the context ('' for no answer)",
    "start": "int64 [batch], character offset of the answer in the context",
    "end": "int64 [batch], character offset just after the answer",
    "score": "float32 [batch], the pipeline's score of the answer",
}
INPUTS = ("question", "context")


def require_word_offsets(tokenizer):
    """Raises ValueError unless `tokenizer` gives word pieces with character offsets.

    Question answering aligns answers to words of the context, so it needs the
    tokenizer's `tokenize_words_with_offsets` (WordPiece and SentencePiece have it).
    """
    if not hasattr(tokenizer, "tokenize_words_with_offsets"):
        raise ValueError(f"{type(tokenizer).__name__} has no tokenize_words_with_offsets, so it gives no word "
                         "offsets; question answering maps answers back to the context through them. Use a tokenizer "
                         "from preprocessors.tokenizer_factory.make_tokenizer (WordPiece or SentencePiece).")


def context_windows(tokenizer, question_ids, context, max_seq_length, doc_stride, max_query_length):
    """The windows of (question, context) pairs, and the byte offsets of their context pieces.

    Serving and fine-tuning both cut windows here, so a model trains on the windows it
    is served with.

    Args:
      tokenizer: has `tokenize_words_with_offsets` and `special_ids` (`require_word_offsets`).
      question_ids: RaggedTensor [batch, (tokens)], `tokenizer.tokenize(question)`.
      context: string [batch].
      max_seq_length, doc_stride, max_query_length: as `preprocessors.qa_windows`.

    Returns:
      `question_context_windows`'s dict plus `piece_start` and `piece_end`, int64 [pieces],
      the byte offsets in the (UTF-8-sanitised) context of each flat context piece.

    Example:

        windows = context_windows(tokenizer, tokenizer.tokenize(questions), contexts, 384, 128, 64)
    """
    pieces, piece_starts, piece_ends = tokenizer.tokenize_words_with_offsets(context)
    windows = question_context_windows(question_ids, pieces, tokenizer.special_ids, max_seq_length=max_seq_length,
                                       doc_stride=doc_stride, max_query_length=max_query_length)
    return dict(windows, piece_start=piece_starts.flat_values, piece_end=piece_ends.flat_values)


def _characters_before(texts, byte_offsets):
    """The number of UTF-8 characters in texts[:byte_offsets], int64."""
    return tf.cast(tf.strings.length(tf.strings.substr(texts, tf.zeros_like(byte_offsets), byte_offsets), unit="UTF8_CHAR"), tf.int64)


class QuestionAnsweringServer(tf.Module):
    """Answers questions about passages: `(question, context)` strings in, the answer span out.

    Args:
      model: a callable (e.g. a Keras span model) from the encoder inputs dict to
        `{"start_logits", "end_logits"}`, each [batch, seq].
      tokenizer: a `preprocessors` tokenizer with word offsets (`tokenize_words_with_offsets`):
        `BertWordpieceTokenizer` or `AlbertSentencepieceTokenizer`.
      max_seq_length: tokens per window, [CLS] and [SEP]s included.
      doc_stride: how many context tokens consecutive windows share (Hugging
        Face's meaning; google-research BERT's doc_stride is the step).
      max_query_length: question tokens kept.
      max_answer_length: the longest answer, in tokens.
      version_2_with_negative: whether "no answer" (an empty answer with
        start = end = 0) may win, as SQuAD 2.0 models do.
      window_batch_size: windows run through the model at a time, so very long
        contexts need bounded memory.

    Example:

        server = QuestionAnsweringServer(span_model, tokenizer)
        out = server(tf.constant(["Who wrote it?"]), tf.constant(["It was written by Ada."]))
        out["answer"], out["start"], out["end"], out["score"]
    """

    def __init__(self, model, tokenizer, max_seq_length=384, doc_stride=128, max_query_length=64,
                 max_answer_length=15, version_2_with_negative=False, window_batch_size=64, name=None):
        super().__init__(name=name)
        require_word_offsets(tokenizer)
        check_window_settings(max_seq_length, doc_stride, max_query_length)
        if not isinstance(max_answer_length, int) or max_answer_length < 1:
            raise ValueError(f"max_answer_length must be a positive integer, got {max_answer_length!r}.")
        self.tokenizer = tokenizer
        self.settings = {"max_seq_length": max_seq_length, "doc_stride": doc_stride,
                         "max_query_length": max_query_length, "max_answer_length": max_answer_length,
                         "version_2_with_negative": bool(version_2_with_negative)}
        self._window_batch_size = int(window_batch_size)
        # A closure, not an attribute: the model's variables are saved by the export's root.
        self._model = lambda inputs: model(inputs, training=False)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="question"),
                                  tf.TensorSpec([None], tf.string, name="context")])
    def __call__(self, question, context):
        """Returns {"answer", "start", "end", "score"}, each [batch], for question and context [batch]."""
        return self._pick(self._candidates(question, context))

    input_names = INPUTS

    def serving_function(self):
        """The `serving_default` function: `__call__`, whose inputs are named `question` and `context`."""
        return self.__call__

    def answers_and_candidates(self, question, context):
        """`__call__`'s answers, and the candidates they were picked from (for n-best lists).

        Not a tf.function (exports do not save it); wrap it in one. The candidates dict has
        per candidate span: `example`, `answer` (text), `score`, `window`, `start_logit`,
        `end_logit` (at its first and last token), in the order `span_selection` merges them;
        per window: `window_example`, `no_answer` ([CLS]'s p_start * p_end) and
        `null_start_logit` / `null_end_logit` ([CLS]'s logits).
        """
        candidates = self._candidates(question, context)
        return self._pick(candidates), candidates

    def _check(self, question, context, question_ids):
        batch = tf.size(question, out_type=tf.int64)
        checks = [tf.debugging.assert_equal(
            batch, tf.size(context, out_type=tf.int64),
            message="question and context must have the same batch size (one context per question)")]
        empty = tf.where(tf.equal(question_ids.row_lengths(), 0))[:, 0]
        checks.append(tf.debugging.Assert(
            tf.equal(tf.size(empty), 0),
            ["question: an empty question (no words) at batch index", empty[:1],
             "; every question needs at least one word"]))
        return checks

    def _logits(self, windows):
        """Runs the model over the windows, window_batch_size at a time."""
        inputs = {k: windows[k] for k in INPUT_KEYS}
        count = tf.shape(inputs["input_word_ids"])[0]
        # Equal chunks of at most window_batch_size windows, padded by fewer than one window per chunk.
        chunks = tf.maximum((count + self._window_batch_size - 1) // self._window_batch_size, 1)
        chunk = (count + chunks - 1) // chunks
        padded = {k: tf.pad(v, [[0, chunks * chunk - count], [0, 0]]) for k, v in inputs.items()}
        shaped = {k: tf.reshape(v, tf.stack([chunks, chunk, -1])) for k, v in padded.items()}

        def run(part):
            outputs = self._model(part)
            return tuple(tf.cast(outputs[k], tf.float32) for k in ("start_logits", "end_logits"))

        spec = tf.TensorSpec([None, None], tf.float32)
        start, end = tf.map_fn(run, shaped, fn_output_signature=(spec, spec))
        return tuple(tf.reshape(x, tf.stack([chunks * chunk, -1]))[:count] for x in (start, end))

    def _candidates(self, question, context):
        """Every window's best spans, as answer texts of the context with their byte offsets."""
        tokenizer = self.tokenizer
        question_ids = tokenizer.tokenize(question)
        s = self.settings
        with tf.control_dependencies(self._check(question, context, question_ids)):
            windows = context_windows(tokenizer, question_ids, context, s["max_seq_length"], s["doc_stride"],
                                      s["max_query_length"])
        start_logits, end_logits = self._logits(windows)
        context_piece = windows["context_piece"]
        scores, starts, ends, no_answer = span_selection.window_candidates(
            start_logits, end_logits, context_piece >= 0, s["max_answer_length"])
        window = tf.broadcast_to(tf.range(tf.shape(scores, out_type=tf.int64)[0])[:, tf.newaxis],
                                 tf.shape(scores, out_type=tf.int64))
        window, scores, starts, ends = (tf.reshape(x, [-1]) for x in (window, scores, starts, ends))
        valid = scores > 0

        def piece_at(position):
            found = tf.gather_nd(context_piece, tf.stack([window, position], axis=1))
            return tf.where(valid, found, 0)

        # Whole words, as far as they lie in the window (Hugging Face's word_to_chars).
        first_piece = tf.maximum(tf.gather(windows["word_first_piece"], piece_at(starts)),
                                 tf.gather(windows["window_first_piece"], window))
        last_piece = tf.minimum(tf.gather(windows["word_last_piece"], piece_at(ends)),
                                tf.gather(windows["window_last_piece"], window))
        # Candidates without a score (a window with few spans) may point anywhere; they are dropped later.
        byte_start = tf.gather(windows["piece_start"], tf.where(valid, first_piece, 0))
        byte_end = tf.gather(windows["piece_end"], tf.where(valid, last_piece, 0))
        example = tf.gather(windows["window_example"], window)
        # The offsets point into the context after invalid UTF-8 became U+FFFD.
        texts = tf.gather(sanitize_utf8(context, replace_nul=False), example)

        def logit_at(logits, position):
            return tf.gather_nd(logits, tf.stack([window, position], axis=1))

        return {"example": example, "answer": tf.strings.substr(texts, byte_start, byte_end - byte_start),
                "score": scores, "window": window, "text": texts, "byte_start": byte_start, "byte_end": byte_end,
                "start_logit": logit_at(start_logits, starts), "end_logit": logit_at(end_logits, ends),
                "window_example": windows["window_example"], "no_answer": no_answer,
                "null_start_logit": start_logits[:, 0], "null_end_logit": end_logits[:, 0],
                "batch": tf.size(question, out_type=tf.int64)}

    def _pick(self, candidates):
        """Each example's answer among its candidates, with its character offsets and score."""
        c = candidates
        answers, batch = c["answer"], c["batch"]
        chosen, score, found = span_selection.merge_answers(c["example"], answers, c["score"], batch)
        version_2 = self.settings["version_2_with_negative"]
        if version_2:
            null = tf.math.unsorted_segment_min(c["no_answer"], c["window_example"], batch)
            found = tf.logical_and(found, tf.logical_not(null > score))
            score = tf.where(found, score, null)
        chosen_text = tf.gather(c["text"], chosen)
        zero = tf.zeros_like(chosen)
        start = tf.where(found, _characters_before(chosen_text, tf.gather(c["byte_start"], chosen)), zero)
        end = tf.where(found, _characters_before(chosen_text, tf.gather(c["byte_end"], chosen)), zero)
        return {"answer": tf.where(found, tf.gather(answers, chosen), ""), "start": start, "end": end,
                "score": tf.where(found | version_2, score, 0.0)}
