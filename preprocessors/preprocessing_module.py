"""The companion preprocessing SavedModel (TF-Hub style); export.preprocessing_export writes it.

Loaded with `tf.saved_model.load` (or `hub.KerasLayer`), it offers:

- root `__call__(strings [batch], seq_length=...)` -> input_word_ids,
  input_mask, input_type_ids, int32 [batch, seq_length] (seq_length 128 by
  default; `hub.KerasLayer(preprocess, arguments=dict(seq_length=0))` passes
  another); the `serving_default` signature takes `strings` only (128);
- `.tokenize(strings)` -> RaggedTensor [batch, (tokens)] int32, and
  `.tokenize.get_special_tokens_dict()` -> vocab_size, padding_id,
  start_of_sequence_id, end_of_segment_id, mask_id (int32 scalars);
- `.tokenize_with_offsets(strings)` -> (ids, start_offsets, end_offsets)
  (WordPiece only);
- `.bert_pack_inputs(segments, seq_length=...)` for 1..max_segments segments;
  seq_length is a tensor argument, so any value works after loading; one too
  small for the segment count (or negative) fails with an error that says so.

seq_length=0 (a python 0 or a tensor) asks for dynamic length: pad to the
batch's longest packed sequence rounded up to a multiple of 8, at most
max_seq_length (the encoder's max_position_embeddings); longer sequences are
truncated to max_seq_length the same way fixed lengths truncate. A batch of
zero strings then gives [0, 8] outputs.

Bad input never crashes: a batch of zero strings gives [0, seq_length]
outputs ([0, 8] with seq_length=0); empty strings give [CLS] [SEP]; invalid UTF-8 bytes are replaced by
U+FFFD and then dropped (WordPiece) or encoded as the model encodes U+FFFD
(SentencePiece); very long texts are truncated to seq_length (or max_seq_length). Only a
seq_length that is negative or too small for [CLS] plus one [SEP] per segment
is an error.

The vocabulary (`vocab_file`, with a `do_lower_case` variable) or the
SentencePiece model (`sp_model_file`) is a tf.saved_model.Asset, so the
SavedModel keeps no path of the machine that built it.
"""

import contextlib

import tensorflow as tf

from preprocessors import packing
from preprocessors.sentencepiece import AlbertSentencepieceTokenizer
from preprocessors.wordpiece import BertWordpieceTokenizer

_STRINGS = tf.TensorSpec([None], tf.string)
_TOKENS = tf.RaggedTensorSpec([None, None], tf.int32, ragged_rank=1, row_splits_dtype=tf.int64)
_SEQ_LENGTH = tf.TensorSpec([], tf.int32)


@contextlib.contextmanager
def without_assert_ops():
    """Traces without Assert ops, as TF Model Garden's preprocessing export does.

    tensorflow-text validates the ragged tensors it builds from its own kernels'
    outputs with Assert ops; they are never false for those, and the
    preprocessing SavedModel must contain none (they break placement and
    tf.data use). Our own code adds no asserts (see packing).
    """
    from tensorflow.python.ops import control_flow_assert  # pylint: disable=g-direct-tensorflow-import
    original = control_flow_assert.Assert

    def no_assert(condition, data, summarize=None, name=None):
        del condition, data, summarize
        return tf.no_op(name=name or "no_assert")

    control_flow_assert.Assert = no_assert
    try:
        yield
    finally:
        control_flow_assert.Assert = original


class _Tokenize(tf.Module):
    """`.tokenize`: strings [batch] -> ids [batch, (tokens)], plus get_special_tokens_dict()."""

    def __init__(self, tokenizer, name="tokenize"):
        super().__init__(name=name)
        self._tokenizer = tokenizer

    @tf.function(input_signature=[_STRINGS])
    def __call__(self, strings):
        return self._tokenizer.tokenize(strings)

    @tf.function(input_signature=[])
    def get_special_tokens_dict(self):
        return self._tokenizer.get_special_tokens_dict()


class _TokenizeWithOffsets(_Tokenize):
    """`.tokenize_with_offsets`: strings -> (ids, start_offsets, end_offsets)."""

    def __init__(self, tokenizer):
        super().__init__(tokenizer, name="tokenize_with_offsets")

    @tf.function(input_signature=[_STRINGS])
    def __call__(self, strings):
        return self._tokenizer.tokenize_with_offsets(strings)


class _BertPackInputs(tf.Module):
    """`.bert_pack_inputs(segments, seq_length=...)`, traced for 1..max_segments segments."""

    def __init__(self, special_tokens, seq_length, max_segments, truncation, max_seq_length):
        super().__init__(name="bert_pack_inputs")
        self._special_tokens = dict(special_tokens)
        self._truncation = truncation
        self._default_seq_length = seq_length
        self._max_seq_length = max_seq_length
        for n in range(1, max_segments + 1):
            self.__call__.get_concrete_function([_TOKENS] * n, _SEQ_LENGTH)
            self.__call__.get_concrete_function([_TOKENS] * n)  # the default seq_length

    @tf.function
    def __call__(self, segments, seq_length=None):
        # A python seq_length is checked here, while tracing, so a too-small value
        # fails at the call; a tensor one is guarded inside the graph.
        if seq_length is None:
            seq_length = self._default_seq_length
        return packing.bert_pack_inputs(
            list(segments), seq_length, self._special_tokens, truncation=self._truncation,
            max_seq_length=self._max_seq_length)


def _check_lengths(seq_length, max_seq_length, max_segments):
    """Raises ValueError unless seq_length is 0 (dynamic) or in [max_segments + 1, max_seq_length]."""
    packing.check_seq_length(seq_length, max_segments)
    if max_seq_length is None:
        raise ValueError("max_seq_length=None: the cap of seq_length=0 is needed; pass the "
                         "encoder's max_position_embeddings.")
    packing.check_max_seq_length(max_seq_length, max_segments)
    if seq_length is not None and int(seq_length) > max_seq_length:
        raise ValueError(
            f"seq_length={seq_length} exceeds max_seq_length={max_seq_length} (the encoder's "
            f"max_position_embeddings); pass seq_length <= {max_seq_length}, or raise max_seq_length "
            "if the encoder allows it.")


class PreprocessingModule(tf.Module):
    """Text -> encoder inputs, ready for export.preprocessing_export.save_preprocessing_model().

    Args:
      tokenizer: a BertWordpieceTokenizer or AlbertSentencepieceTokenizer.
      seq_length: the root call's default length (0: dynamic).
      max_segments: `.bert_pack_inputs` is traced for 1..max_segments segments.
      truncation: "round_robin" or "waterfall" (see packing.bert_pack_inputs).
      max_seq_length: the cap of dynamic length (seq_length=0); set it to the
        encoder's max_position_embeddings.
    """

    def __init__(self, tokenizer, seq_length=128, max_segments=3, truncation="round_robin",
                 max_seq_length=512):
        super().__init__(name="preprocessing")
        if not isinstance(tokenizer, (BertWordpieceTokenizer, AlbertSentencepieceTokenizer)):
            raise TypeError(
                "PreprocessingModule takes a BertWordpieceTokenizer or AlbertSentencepieceTokenizer, "
                f"got {type(tokenizer).__name__}.")
        _check_lengths(seq_length, max_seq_length, max_segments)
        self.tokenizer = tokenizer
        self.seq_length = seq_length
        self.max_segments = max_segments
        self.truncation = truncation
        self.max_seq_length = max_seq_length
        special = {k: v for k, v in tokenizer.special_ids.items()}
        if isinstance(tokenizer, BertWordpieceTokenizer):
            self.vocab_file = tf.saved_model.Asset(tokenizer.vocab_file)
            self.do_lower_case = tf.Variable(tokenizer.do_lower_case, trainable=False,
                                             name="do_lower_case")
            self.tokenize_with_offsets = _TokenizeWithOffsets(tokenizer)
        else:
            self.sp_model_file = tf.saved_model.Asset(tokenizer.sp_model_file)
            self.do_lower_case = tf.Variable(tokenizer.do_lower_case, trainable=False,
                                             name="do_lower_case")
        self._special = special
        with without_assert_ops():
            self.tokenize = _Tokenize(tokenizer)
            self.bert_pack_inputs = _BertPackInputs(special, seq_length, max_segments, truncation,
                                                    max_seq_length)
            # Trace everything now, inside the no-Assert scope.
            self.__call__.get_concrete_function(_STRINGS)  # the default seq_length
            self.__call__.get_concrete_function(_STRINGS, _SEQ_LENGTH)
            self.tokenize.__call__.get_concrete_function()
            self.tokenize.get_special_tokens_dict.get_concrete_function()
            if hasattr(self, "tokenize_with_offsets"):
                self.tokenize_with_offsets.__call__.get_concrete_function()
                self.tokenize_with_offsets.get_special_tokens_dict.get_concrete_function()

    @tf.function
    def __call__(self, strings, seq_length=None):
        """strings [batch] -> input_word_ids, input_mask, input_type_ids [batch, seq_length].

        seq_length None: the module's default (128 unless built otherwise); 0: dynamic.
        """
        if seq_length is None:
            seq_length = self.seq_length
        return packing.bert_pack_inputs(
            [self.tokenizer.tokenize(strings)], seq_length, self._special,
            truncation=self.truncation, max_seq_length=self.max_seq_length)

    def serving_function(self):
        """The concrete function for the `serving_default` signature: strings -> the default seq_length."""
        return self.__call__.get_concrete_function(_STRINGS)

