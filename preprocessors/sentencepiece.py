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

Bad input: invalid UTF-8 bytes become U+FFFD (which the model maps to its
unknown piece or drops, like the reference would for that character); empty
strings give no tokens; a batch of zero strings gives a [0, (0)] result.
"""

import functools
import sys
import unicodedata

import tensorflow as tf
import tensorflow_text as text

from preprocessors import unicode_rules

_SPIECE_UNDERLINE = "\u2581"
_NUL_STAND_IN = "\U0010FFFF"

# The characters Python's str.split() splits on (White_Space plus the
# information separators U+001C..U+001F).
_PY_WHITESPACE = (
    r"[\t-\r\x1C-\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}"
    r"\x{202F}\x{205F}\x{3000}]"
)


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
        self.vocab_size = int(self._sp.vocab_size())
        pieces = self._sp.id_to_string(tf.range(self.vocab_size)).numpy()
        index = {}
        for i, piece in enumerate(pieces):
            index.setdefault(piece.decode("utf-8"), i)
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
        strings = text.normalize_utf8(strings, "NFKD")
        strings = tf.strings.regex_replace(strings, self._combining, "")
        if self.do_lower_case:
            # TF's UTF-8 lower-casing stops at NUL, so NUL stands aside as the
            # noncharacter U+10FFFF meanwhile (neither is cased, so final-sigma
            # context is the same; an input U+10FFFF would come back as NUL).
            strings = tf.strings.regex_replace(strings, "\x00", _NUL_STAND_IN)
            strings = tf.strings.lower(strings, encoding="utf-8")
            strings = tf.strings.regex_replace(strings, _NUL_STAND_IN, "\x00")
        return strings

    def _split_digit_commas(self, ids):
        """Step 6 on ids [batch, (pieces)]."""
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
        stem_ids = self._sp.tokenize(stem)
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
        rest = stem_ids[:, 1:]
        keep_first = tf.logical_and(tf.logical_not(lone), stem_ids.row_lengths() > 0)
        head = tf.RaggedTensor.from_row_lengths(
            tf.boolean_mask(new_first, keep_first), tf.cast(keep_first, tf.int64))
        comma = tf.RaggedTensor.from_row_lengths(
            tf.fill([tf.shape(flagged_at)[0]], self._comma_id),
            tf.ones_like(flagged_at, tf.int64))
        replacement = tf.concat([head, rest, comma], axis=1)
        unflagged_at = tf.cast(tf.where(tf.logical_not(flagged))[:, 0], tf.int32)
        kept = tf.RaggedTensor.from_row_lengths(
            tf.gather(flat_ids, unflagged_at), tf.ones_like(unflagged_at, tf.int64))
        combined = tf.concat([kept, replacement], axis=0)
        order = tf.math.invert_permutation(tf.concat([unflagged_at, flagged_at], axis=0))
        per_piece = tf.gather(combined, order)
        return ids.with_flat_values(per_piece).merge_dims(1, 2)

    def tokenize(self, strings):
        """Returns SentencePiece ids [batch, (tokens)] int32."""
        ids = self._sp.tokenize(self.normalize(strings))
        return self._split_digit_commas(ids)
