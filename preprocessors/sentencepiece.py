"""ALBERT SentencePiece tokenization in the TensorFlow graph, equal to the reference.

The reference (google-research ALBERT `tokenization.py`, `preprocess_text` then
`encode_pieces`):

1. collapse runs of whitespace into one space and strip the ends;
2. turn `` and '' into ";
3. NFKD, then drop characters with a non-zero canonical combining class;
4. lower-case when asked;
5. encode with the SentencePiece model;
6. re-split every piece that ends in "," right after a digit ("1998," ->
   "1998" pieces + ","), so numbers are encoded the same with or without a
   trailing comma.

Step 3's character class and step 6's digit class are built from Python's
`unicodedata` (the reference's own tables) when the tokenizer is constructed.

Offsets (`tokenize_with_offsets`, `tokenize_words_with_offsets`, for the text-in
task exports): tensorflow-text's SentencePiece gives each piece its bytes in the
text it encoded, i.e. after steps 1-4. Steps 3-4 work character by character, so
every input character becomes its own run of that text (preprocessors.char_runs);
steps 1-2 keep the first of a whitespace run (none at the ends) and turn the
second character of `` or '' into '"'. The offsets then follow Hugging Face's
ALBERT tokenizer: never on the space before a word, nor starting or ending on a
character the model's own normaliser blanks out (control and format characters).

Bad input: invalid UTF-8 bytes become U+FFFD (which the model maps to its
unknown piece or drops, like the reference would for that character); empty
strings give no tokens; a batch of zero strings gives a [0, (0)] result.
"""

import functools
import sys
import unicodedata

import numpy as np
import tensorflow as tf
import tensorflow_text as text

from preprocessors import char_runs, unicode_rules

_SPIECE_UNDERLINE = "\u2581"
_NUL_STAND_IN = "\U0010FFFF"

# The characters Python's str.split() splits on (White_Space plus the
# information separators U+001C..U+001F).
_PY_WHITESPACE = (
    r"[\t-\r\x1C-\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}"
    r"\x{202F}\x{205F}\x{3000}]"
)
# The same characters as code points (tests check the two agree).
_WHITESPACE_CODES = tuple(cp for cp in range(0x3001) if chr(cp).isspace())


def _ranges_class(predicate):
    """An RE2 character class of every code point for which predicate holds."""
    ranges = []
    start = None
    for cp in range(sys.maxunicode + 2):
        hit = cp <= sys.maxunicode and not 0xD800 <= cp < 0xE000 and predicate(chr(cp))
        if hit and start is None:
            start = cp
        elif not hit and start is not None:
            ranges.append((start, cp - 1))
            start = None
    parts = [f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges]
    return "[" + "".join(parts) + "]"


@functools.lru_cache(maxsize=None)
def combining_class():
    """Characters with a non-zero canonical combining class (dropped after NFKD)."""
    return _ranges_class(lambda c: unicodedata.combining(c) != 0)


@functools.lru_cache(maxsize=None)
def digit_class():
    """Characters for which Python's str.isdigit() is true."""
    return _ranges_class(str.isdigit)


def _normalize_characters(strings, do_lower_case):
    """Steps 3-4, which work character by character (see tokenize_with_offsets)."""
    strings = text.normalize_utf8(strings, "NFKD")
    strings = tf.strings.regex_replace(strings, combining_class(), "")
    if do_lower_case:
        # TF's UTF-8 lower-casing stops at NUL, so NUL stands aside as the
        # noncharacter U+10FFFF meanwhile (neither is cased, so final-sigma
        # context is the same; an input U+10FFFF would come back as NUL).
        strings = tf.strings.regex_replace(strings, "\x00", _NUL_STAND_IN)
        strings = tf.strings.lower(strings, encoding="utf-8")
        strings = tf.strings.regex_replace(strings, _NUL_STAND_IN, "\x00")
    return strings


@functools.lru_cache(maxsize=None)
def _byte_changes(do_lower_case):
    """How steps 3-4 change each character's UTF-8 length (char_runs.byte_change_table)."""
    return char_runs.byte_change_table(lambda lines: _normalize_characters(lines, do_lower_case))


@functools.lru_cache(maxsize=4)
def _blank_characters(model, do_lower_case):
    """The code points that the SentencePiece model's own normaliser turns into nothing or whitespace,
    after steps 3-4 (control and format characters, spaces, "▁", ...), as a step function: (first code
    point of each interval int32, whether the interval is blank bool) numpy arrays.

    Hugging Face's ALBERT offsets never start or end on such a character. Found by
    encoding every code point on its own (about 2 s, once per model).
    """
    code_points = np.arange(sys.maxunicode + 1, dtype=np.int32)
    code_points[0xD800:0xE000] = 0x20  # surrogates cannot be encoded; they never occur
    with tf.init_scope():
        sp = text.SentencepieceTokenizer(model=model, out_type=tf.int32)
        chars = tf.strings.unicode_encode(code_points[:, None], "UTF-8")
        blank = (sp.tokenize(_normalize_characters(chars, do_lower_case)).row_lengths() == 0).numpy()
    starts = np.concatenate([[0], np.flatnonzero(np.diff(blank.astype(np.int8))) + 1])
    return starts.astype(np.int32), blank[starts]


SPECIAL_PIECES = {
    "padding_id": "<pad>",
    "start_of_sequence_id": "[CLS]",
    "end_of_segment_id": "[SEP]",
    "mask_id": "[MASK]",
    "unknown_id": "<unk>",
}


class AlbertSentencepieceTokenizer(tf.Module):
    """Tokenizes strings [batch] into SentencePiece ids [batch, (tokens)] int32."""

    def __init__(self, sp_model_file, do_lower_case, name=None):
        super().__init__(name=name)
        self.sp_model_file = sp_model_file
        self.do_lower_case = bool(do_lower_case)
        with tf.io.gfile.GFile(sp_model_file, "rb") as f:
            model = f.read()
        if not model:
            raise ValueError(f"SentencePiece model {sp_model_file!r} is empty.")
        self._sp = text.SentencepieceTokenizer(model=model, out_type=tf.int32)
        self._model = model
        self.vocab_size = int(self._sp.vocab_size())
        pieces = self._sp.id_to_string(tf.range(self.vocab_size)).numpy()
        pieces = [piece.decode("utf-8") for piece in pieces]
        index = {}
        for i, piece in enumerate(pieces):
            index.setdefault(piece, i)
        self._starts_word = tf.constant([piece.startswith(_SPIECE_UNDERLINE) for piece in pieces])
        self._is_lone_marker = tf.constant([piece == _SPIECE_UNDERLINE for piece in pieces])
        missing = [p for p in SPECIAL_PIECES.values() if p not in index]
        if missing:
            raise ValueError(
                f"SentencePiece model {sp_model_file!r} lacks the pieces {missing}; train it "
                "with user_defined_symbols/control symbols <pad>, <unk>, [CLS], [SEP], [MASK].")
        self.special_ids = {key: index[p] for key, p in SPECIAL_PIECES.items()}
        self._comma_id = index.get(",", self.special_ids["unknown_id"])
        self._combining = combining_class()
        self._trailing_comma_after_digit = f"(?s).*{digit_class()},"

    def get_special_tokens_dict(self):
        """Returns vocab_size, padding_id, start_of_sequence_id, end_of_segment_id, mask_id."""
        out = {"vocab_size": tf.constant(self.vocab_size, tf.int32)}
        for key in ("padding_id", "start_of_sequence_id", "end_of_segment_id", "mask_id"):
            out[key] = tf.constant(self.special_ids[key], tf.int32)
        return out

    def normalize(self, strings):
        """Steps 1-4: the reference's preprocess_text, in-graph."""
        # NUL stays: the SentencePiece normaliser keeps it, as in the reference.
        strings = unicode_rules.sanitize_utf8(
            tf.convert_to_tensor(strings, tf.string), replace_nul=False)
        strings = tf.strings.regex_replace(strings, _PY_WHITESPACE + "+", " ")
        strings = tf.strings.regex_replace(strings, r"^ | $", "")
        strings = tf.strings.regex_replace(strings, "``|''", '"')
        return _normalize_characters(strings, self.do_lower_case)

    def _split_digit_commas(self, ids, starts, ends):
        """Step 6 on ids [batch, (pieces)] and their byte offsets (starts, ends) in the normalised text.

        A re-split piece's new pieces get offsets inside its own span: the stem's
        as the stem was encoded, the comma its last byte.
        """
        flat_ids = ids.flat_values
        pieces = self._sp.id_to_string(flat_ids)
        flagged = tf.logical_and(
            tf.strings.length(pieces, unit="UTF8_CHAR") > 1,
            tf.strings.regex_full_match(pieces, self._trailing_comma_after_digit))
        flagged_at = tf.cast(tf.where(flagged)[:, 0], tf.int32)
        flagged_pieces = tf.gather(pieces, flagged_at)
        # The piece without its comma and without any "▁", encoded on its own.
        stem = tf.strings.regex_replace(
            tf.strings.regex_replace(flagged_pieces, ",$", ""), _SPIECE_UNDERLINE, "")
        stem_ids, stem_starts, stem_ends = self._sp.tokenize_with_offsets(stem)
        stem_pieces = self._sp.id_to_string(stem_ids)
        # A piece that did not start a word must not gain a word-start marker:
        # drop a lone leading "▁" piece, or strip "▁" from the first piece.
        starts_word = tf.strings.regex_full_match(flagged_pieces, f"(?s){_SPIECE_UNDERLINE}.*")
        first = stem_pieces[:, :1].to_tensor(default_value="", shape=[None, 1])[:, 0]
        fix = tf.logical_and(
            tf.logical_not(starts_word),
            tf.strings.regex_full_match(first, f"(?s){_SPIECE_UNDERLINE}.*"))
        lone = tf.logical_and(fix, tf.equal(first, _SPIECE_UNDERLINE))
        stripped_first = self._sp.string_to_id(
            tf.strings.regex_replace(first, f"^{_SPIECE_UNDERLINE}", ""))
        first_id = stem_ids[:, :1].to_tensor(default_value=0, shape=[None, 1])[:, 0]
        new_first = tf.where(fix, stripped_first, first_id)
        keep_first = tf.logical_and(tf.logical_not(lone), stem_ids.row_lengths() > 0)
        flagged_start = tf.gather(starts.flat_values, flagged_at)
        flagged_end = tf.gather(ends.flat_values, flagged_at)
        comma_start = flagged_end - 1

        def within_piece(stem_offsets):
            shifted = stem_offsets + tf.expand_dims(flagged_start, 1)
            return tf.minimum(shifted, tf.expand_dims(comma_start, 1))

        def one_per_row(values):
            return tf.RaggedTensor.from_row_lengths(values, tf.ones_like(values, tf.int64))

        def replacement(stem_values, first_value, last_value):
            head = tf.RaggedTensor.from_row_lengths(
                tf.boolean_mask(first_value, keep_first), tf.cast(keep_first, tf.int64))
            return tf.concat([head, stem_values[:, 1:], one_per_row(last_value)], axis=1)

        stem_starts, stem_ends = within_piece(stem_starts), within_piece(stem_ends)
        new_pieces = [
            replacement(stem_ids, new_first, tf.fill([tf.shape(flagged_at)[0]], self._comma_id)),
            replacement(stem_starts, stem_starts[:, :1].to_tensor(shape=[None, 1])[:, 0], comma_start),
            replacement(stem_ends, stem_ends[:, :1].to_tensor(shape=[None, 1])[:, 0], flagged_end)]
        unflagged_at = tf.cast(tf.where(tf.logical_not(flagged))[:, 0], tf.int32)
        order = tf.math.invert_permutation(tf.concat([unflagged_at, flagged_at], axis=0))
        out = []
        for values, new in zip((ids, starts, ends), new_pieces):
            kept = one_per_row(tf.gather(values.flat_values, unflagged_at))
            per_piece = tf.gather(tf.concat([kept, new], axis=0), order)
            out.append(ids.with_flat_values(per_piece).merge_dims(1, 2))
        return tuple(out)

    def tokenize(self, strings):
        """Returns SentencePiece ids [batch, (tokens)] int32."""
        return self._tokenize_normalized(self.normalize(strings))[0]

    def _tokenize_normalized(self, normalized):
        """(ids, starts, ends) [batch, (tokens)]: steps 5-6, offsets in bytes of `normalized`."""
        ids, starts, ends = self._sp.tokenize_with_offsets(normalized)
        return self._split_digit_commas(ids, tf.cast(starts, tf.int64), tf.cast(ends, tf.int64))

    def tokenize_with_offsets(self, strings):
        """Returns (ids, starts, ends), each [batch, (tokens)].

        ids are int32; starts/ends are int64 byte offsets into the input (after
        invalid UTF-8 is replaced by U+FFFD), so input[start:end] is exactly the
        input characters a piece came from, also where normalisation changes the
        text's length (a stripped accent, NFKD's "ﬁ" -> "fi", a lower-casing that
        changes length, collapsed whitespace). The offsets are those of Hugging
        Face's ALBERT tokenizer: a word's "▁" spans the word's first character (a
        lone "▁" piece spans just that character), never the space before it; a
        '"' made of `` or '' spans the second of them.
        """
        return tuple(x.merge_dims(1, 2) for x in self.tokenize_words_with_offsets(strings))

    def tokenize_words_with_offsets(self, strings):
        """Like tokenize_with_offsets, grouped by word: (ids, starts, ends), each [batch, (words), (pieces)].

        A word is the pieces from one "▁"-prefixed piece to the next, the words of
        Hugging Face's ALBERT tokenizer (`word_ids`); question answering aligns
        answers to them as Hugging Face's pipeline does.
        """
        strings = unicode_rules.sanitize_utf8(tf.convert_to_tensor(strings, tf.string), replace_nul=False)
        normalized = self.normalize(strings)
        raw_ids, raw_starts, raw_ends = self._sp.tokenize_with_offsets(normalized)
        raw_starts = tf.cast(raw_starts, tf.int64)
        ids, starts, ends = self._split_digit_commas(
            raw_ids, self._without_space(normalized, raw_ids, raw_starts), tf.cast(raw_ends, tf.int64))
        lone = tf.gather(self._is_lone_marker, ids.flat_values)
        first = starts.flat_values
        last = tf.where(lone, first, tf.maximum(ends.flat_values - 1, first))
        input_starts, input_ends = self._input_offsets(strings, ids.value_rowids(), first, last, lone)
        new_word = tf.gather(self._starts_word, ids.flat_values)
        row_first = tf.range(tf.size(first, out_type=tf.int64)) == tf.gather(ids.row_splits, ids.value_rowids())
        word_splits = tf.cast(tf.where(new_word | row_first)[:, 0], tf.int64)
        words_per_row = tf.math.bincount(tf.cast(tf.gather(ids.value_rowids(), word_splits), tf.int32),
                                         minlength=tf.cast(ids.nrows(), tf.int32), dtype=tf.int64)

        def grouped(flat):
            by_word = tf.RaggedTensor.from_row_starts(flat, word_splits)
            return tf.RaggedTensor.from_row_lengths(by_word, words_per_row)

        return grouped(ids.flat_values), grouped(input_starts), grouped(input_ends)

    def _without_space(self, normalized, ids, starts):
        """Piece starts moved past the space a "▁" piece begins with (the space is not the piece's own)."""
        flat = starts.flat_values
        at = tf.strings.substr(tf.gather(normalized, ids.value_rowids()), flat, tf.ones_like(flat))
        skip = tf.logical_and(tf.gather(self._starts_word, ids.flat_values), tf.equal(at, " "))
        return starts.with_flat_values(flat + tf.cast(skip, tf.int64))

    def _input_offsets(self, strings, piece_row, first, last, lone):
        """Maps each piece's first and last byte in the normalised text to input byte offsets [start, end).

        A span never starts or ends on a character the model's normaliser blanks out
        (`_blank_characters`), and a lone "▁" spans the first other character after
        it, as in Hugging Face's offsets.
        """
        codes, char_starts = tf.strings.unicode_decode_with_offsets(strings, "UTF-8")
        flat = codes.flat_values
        run_bytes = self._character_runs(codes)
        run_ends = tf.cumsum(run_bytes)
        row_base = tf.cumsum(tf.reduce_sum(codes.with_flat_values(run_bytes), axis=1), exclusive=True)
        base = tf.gather(row_base, piece_row)
        lowest = tf.gather(codes.row_splits[:-1], piece_row)
        highest = tf.gather(codes.row_splits[1:], piece_row) - 1
        first_char = char_runs.input_chars(run_ends, base + first, lowest, highest)
        last_char = char_runs.input_chars(run_ends, base + last, lowest, highest)
        blank_starts, blank = _blank_characters(self._model, self.do_lower_case)
        is_blank = tf.gather(tf.constant(blank), tf.searchsorted(tf.constant(blank_starts), flat, side="right") - 1)
        kept = tf.where(tf.logical_not(is_blank))[:, 0]
        after = tf.concat([kept, tf.shape(flat, out_type=tf.int64)], axis=0)
        before = tf.concat([[-1], kept], axis=0)
        next_kept = tf.gather(after, tf.searchsorted(kept, first_char, side="left"))
        first_char = tf.where(lone, tf.minimum(next_kept, highest), tf.minimum(next_kept, last_char))
        previous_kept = tf.gather(before, tf.searchsorted(kept, last_char, side="right"))
        last_char = tf.where(lone, first_char, tf.maximum(previous_kept, first_char))
        char_ends = char_starts.flat_values + char_runs.utf8_length(flat)
        return tf.gather(char_starts.flat_values, first_char), tf.gather(char_ends, last_char)

    def _character_runs(self, codes):
        """Each input character's run of bytes in the normalised text, int64 [characters].

        Steps 1-2 depend on neighbours: of a run of whitespace only the first character
        stays (as one space), none at the ends of the text; the '"' that replaces `` or
        '' is the second character's run, as Hugging Face aligns it. Steps 3-4 work
        character by character (the byte table).
        """
        flat = codes.flat_values
        rows = codes.value_rowids()
        index = tf.range(tf.size(flat, out_type=tf.int64))
        row_start = tf.gather(codes.row_splits[:-1], rows)
        row_end = tf.gather(codes.row_splits[1:], rows) - 1
        previous = tf.where(index == row_start, -1, tf.roll(flat, 1, axis=0))
        following = tf.where(index == row_end, -1, tf.roll(flat, -1, axis=0))
        space = tf.constant(_WHITESPACE_CODES, tf.int32)

        def is_space(c):
            return tf.reduce_any(tf.equal(tf.expand_dims(c, 1), space), axis=1)

        blank = is_space(flat)
        other = tf.cast(tf.logical_not(blank), tf.int64)
        others_before = tf.cumsum(other, exclusive=True)
        others_in_row = tf.gather(tf.math.segment_sum(other, rows), rows)
        before = others_before - tf.gather(others_before, row_start)
        after = others_in_row - before - other
        kept_space = blank & tf.logical_not(is_space(previous)) & (before > 0) & (after > 0)
        tick = tf.equal(flat, ord("`")) | tf.equal(flat, ord("'"))
        run = tf.cumsum(tf.cast(tf.not_equal(flat, previous), tf.int64)) - 1
        in_run = index - tf.gather(tf.math.segment_min(index, run), run)
        pair_head = tick & tf.equal(in_run % 2, 0) & tf.equal(following, flat)
        characters = char_runs.normalized_bytes(flat, _byte_changes(self.do_lower_case))
        run_bytes = tf.where(blank, tf.cast(kept_space, tf.int64),
                             tf.where(pair_head, tf.constant(0, tf.int64), characters))
        return run_bytes
