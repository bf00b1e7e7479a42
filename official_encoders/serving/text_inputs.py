"""Raw strings -> encoder inputs inside a serving graph, shared by the text-in task models.

The task serving modules (sequence classification, token classification,
multiple choice, question answering) take string tensors from a client, so
this module checks them (rank, matching batch sizes) with errors that name the
input, tokenizes and packs them to the batch's longest sequence (at most the
encoder's `max_position_embeddings`), and turns the tokenizer's byte offsets
into code-point offsets, the offsets a client slicing its own text uses.
"""

import tensorflow as tf

from preprocessors import packing, unicode_rules


def string_spec(name, rank=None):
    """A signature entry for a string input; rank None defers the rank check to `check_strings`,
    so a wrong rank gets our error naming the input instead of a signature-binding error."""
    return tf.TensorSpec(None if rank is None else [None] * rank, tf.string, name=name)


def check_strings(tensor, name, rank, expected):
    """`tensor` as a string tensor of `rank`, checked in the graph; the error names the input.

    Args:
      tensor: the client's input.
      name: the input's name in the signature (`text`, `choices`, ...).
      rank: the rank it must have.
      expected: what the input is, for the message (e.g. "[batch] strings").
    """
    tensor = tf.convert_to_tensor(tensor)
    if tensor.dtype != tf.string:
        raise TypeError(f"Input `{name}` must be {expected}, got dtype {tensor.dtype.name}.")
    if tensor.shape.rank is not None:
        if tensor.shape.rank != rank:
            raise ValueError(f"Input `{name}` must be {expected} (rank {rank}), got shape {tensor.shape}.")
        return tensor
    with tf.control_dependencies([tf.debugging.assert_rank(
            tensor, rank, message=f"Input `{name}` must be {expected} (rank {rank})")]):
        checked = tf.identity(tensor)
    checked.set_shape([None] * rank)  # the tokenizers need a known rank
    return checked


def check_same_batch(first, first_name, second, second_name):
    """`second`, after an in-graph check that its batch size (dimension 0) equals `first`'s."""
    message = (f"Inputs `{first_name}` and `{second_name}` must have the same batch size "
               "(one entry of each per example)")
    static = first.shape[:1].is_compatible_with(second.shape[:1])
    if not static:
        raise ValueError(f"{message}; got {first.shape[0]} and {second.shape[0]}.")
    with tf.control_dependencies([tf.debugging.assert_equal(
            tf.shape(first)[0], tf.shape(second)[0], message=message)]):
        return tf.identity(second)


class TextPacker(tf.Module):
    """Tokenizes and packs raw strings for one encoder, in the graph.

    Args:
      tokenizer: a `preprocessors` tokenizer (`make_tokenizer`).
      max_seq_length: the longest packed sequence (the encoder's `max_position_embeddings`);
        longer inputs are truncated (round robin over segments) or, in `windows`, split.
      type_vocab_size: the encoder's; with 1, every input_type_id is 0.

    Example:

        packer = TextPacker(make_tokenizer(vocab_file), max_seq_length=512)
        inputs = packer.pack([packer.tokenize(tf.constant(["a question"])),
                              packer.tokenize(tf.constant(["its answer"]))])
    """

    def __init__(self, tokenizer, max_seq_length, type_vocab_size=2, name=None):
        super().__init__(name=name)
        self.tokenizer = tokenizer
        self.max_seq_length = int(max_seq_length)
        self.type_vocab_size = int(type_vocab_size)
        self.special_ids = {k: int(v) for k, v in tokenizer.special_ids.items()}

    def tokenize(self, strings):
        """Ids [batch, (tokens)] int32."""
        return self.tokenizer.tokenize(strings)

    def pack(self, segments):
        """Encoder inputs [batch, width] for 1..N tokenized segments, width the batch's longest."""
        inputs = packing.bert_pack_inputs(segments, seq_length=0, special_tokens=self.special_ids,
                                          max_seq_length=self.max_seq_length)
        if self.type_vocab_size < 2:
            inputs["input_type_ids"] = tf.zeros_like(inputs["input_type_ids"])
        return inputs

    def tokenize_with_char_offsets(self, strings):
        """(ids, starts, ends) [batch, (tokens)] and the sanitised strings.

        starts/ends are int32 code-point offsets: `text[start:end]` in Python is
        exactly the characters a piece came from (Hugging Face's `offset_mapping`).
        Offsets index the strings after invalid UTF-8 is replaced by U+FFFD, which
        are returned too (for valid UTF-8 they are the input).
        """
        if not hasattr(self.tokenizer, "tokenize_with_offsets"):
            raise ValueError(f"{type(self.tokenizer).__name__} gives no offsets (tokenize_with_offsets); use a "
                             "tokenizer from preprocessors.tokenizer_factory.make_tokenizer.")
        # NUL stays, so the tokenizer sees what its tokenize() would (SentencePiece keeps NUL).
        strings = unicode_rules.sanitize_utf8(tf.convert_to_tensor(strings, tf.string), replace_nul=False)
        ids, starts, ends = self.tokenizer.tokenize_with_offsets(strings)
        to_chars = byte_to_char_offsets(strings)
        return ids, to_chars(starts), to_chars(ends), strings

    def windows(self, ids):
        """Splits each row of `ids` into windows of at most max_seq_length - 2 tokens.

        Returns (window_ids [windows, (tokens)], window_of_row [windows] int64,
        token_window [tokens] and token_position [tokens], where a token sits in the
        packed window inputs: row `token_window`, column `token_position`
        ([CLS] is column 0)). Every row gets at least one window, so an empty text
        still gets its [CLS] [SEP].
        """
        size = tf.constant(self.max_seq_length - 2, tf.int64)
        lengths = ids.row_lengths()
        per_row = tf.maximum((lengths + size - 1) // size, 1)
        first_window = tf.cumsum(per_row, exclusive=True)
        rows = ids.value_rowids()
        within = tf.range(tf.shape(ids.flat_values, out_type=tf.int64)[0]) - tf.gather(ids.row_splits, rows)
        token_window = tf.gather(first_window, rows) + within // size
        num_windows = tf.reduce_sum(per_row)
        window_ids = tf.RaggedTensor.from_value_rowids(ids.flat_values, token_window, nrows=num_windows)
        window_of_row = tf.repeat(tf.range(tf.size(per_row, out_type=tf.int64)), per_row)
        return window_ids, window_of_row, token_window, within % size + 1


def byte_to_char_offsets(strings):
    """A function mapping byte offsets [batch, (n)] in `strings` to code-point offsets, int32.

    All rows are laid end to end, so one sorted search over every character's
    start finds each offset's character; an offset at the end of its string
    lands on the next string's first character, which is its own length.
    """
    _, char_starts = tf.strings.unicode_decode_with_offsets(strings, "UTF-8")
    byte_base = tf.cumsum(tf.cast(tf.strings.length(strings), tf.int64), exclusive=True)
    char_base = char_starts.row_splits[:-1]
    global_starts = char_starts.flat_values + tf.gather(byte_base, char_starts.value_rowids())

    def convert(byte_offsets):
        rows = byte_offsets.value_rowids()
        found = tf.searchsorted(global_starts, byte_offsets.flat_values + tf.gather(byte_base, rows),
                                side="left", out_type=tf.int64)
        return byte_offsets.with_flat_values(tf.cast(found - tf.gather(char_base, rows), tf.int32))

    return convert
