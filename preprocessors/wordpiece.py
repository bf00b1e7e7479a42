"""BERT WordPiece tokenization in the TensorFlow graph, equal to the reference.

The reference (google-research `FullTokenizer`, Hugging Face `BertTokenizer`):

1. drop NUL, U+FFFD and control/format characters; map whitespace to spaces;
2. put spaces around CJK ideographs;
3. uncased only: NFD, strip non-spacing marks (Mn), lower-case;
4. split on whitespace and on punctuation (each punctuation char is a word);
5. WordPiece each word greedily, longest match first; a word of more than 100
   characters, or one the vocabulary cannot cover, becomes `[UNK]`.

tensorflow-text's BertTokenizer case-folds with NFKC instead of step 3 (it maps
`ß` to `ss` and `，` to `,`), so this module composes the steps itself from
tf.strings / tensorflow-text ops and keeps FastWordpieceTokenizer for step 5.

Two paths give the same ids (tested on the corpus):

- `tokenize` (fast) normalises whole strings, lets FastWordpieceTokenizer
  split them on whitespace and punctuation itself (tested to split exactly as
  BERT on every code point), and recovers words from the pieces to turn those
  over 100 characters into `[UNK]`.
- `tokenize_with_offsets` splits the input into words first (regex) and
  normalises word by word, so offsets can point into the input. That is
  equivalent: the split characters are never changed by normalisation, and the
  few characters that NFD turns into punctuation (GREEK VARIA, NOT EQUAL TO,
  ...) are split on directly. Normalisation works character by character, so
  each input character becomes its own run of the normalised word (empty when
  dropped, two or three jamo for a Hangul syllable); a piece spans the input
  characters behind its first and last byte, as HF's offset_mapping does.

Reference differences, all deliberate: the reference implementations disagree
among themselves on a few points and this module follows HF `tokenizers`
(BertNormalizer/BertPreTokenizer), the parity reference. Private-use
characters (Co) are dropped; U+2028/U+2029 count as whitespace; Greek capital
sigma always lower-cases to "σ" (character-wise lower-casing, no final "ς").
Character classes come from RE2/ICU (Unicode 14+), not from HF's older Rust
tables, so on about 0.5% of code points, all added to Unicode in recent
versions, HF differs from both this module and Python's unicodedata.

Bad input (never an error): invalid UTF-8 bytes become U+FFFD and are then
dropped, like the reference drops U+FFFD; NUL and other control characters
are dropped; empty or all-whitespace strings give no tokens; words over 100
characters give `[UNK]`; very long texts are tokenized in full (packing
truncates); a batch of zero strings gives a [0, (0)] result.
"""

import functools
import sys

import tensorflow as tf
import tensorflow_text as text

from preprocessors import char_runs, unicode_rules

# Characters that are not punctuation but become punctuation after NFD and
# accent stripping (computed from unicodedata): GREEK VARIA -> "`",
# NOT EQUAL TO -> "=", NOT LESS-THAN -> "<", NOT GREATER-THAN -> ">".
_PUNCTUATION_AFTER_NFD = r"[\x{1FEF}\x{2260}\x{226E}\x{226F}]"



@functools.lru_cache(maxsize=None)
def _lowercase_fixes():
    """(upper, lower) pairs where TensorFlow's ICU lower-casing lags Python's.

    The reference lower-cases with Unicode 14 tables (Python 3.11, HF
    tokenizers); TF's ICU misses the case pairs added since its version.
    """
    cased = [chr(cp) for cp in range(sys.maxunicode + 1)
             if not 0xD800 <= cp < 0xE000 and len(chr(cp).lower()) == 1
             and chr(cp).lower() != chr(cp)]
    with tf.init_scope():
        icu = tf.strings.lower(tf.constant(cased), encoding="utf-8").numpy()
    return tuple((c, c.lower()) for c, got in zip(cased, icu)
                 if got.decode("utf-8") != c.lower())


def _normalize_words(words, do_lower_case):
    """Applies the reference's per-character normalisation to flat words."""
    words = tf.strings.regex_replace(words, unicode_rules.DROPPED_CHARS, "")
    if do_lower_case:
        words = text.normalize_utf8(words, "NFD")
        words = tf.strings.regex_replace(words, unicode_rules.NONSPACING_MARKS, "")
        # The reference lower-cases character by character, so a word-final
        # capital sigma becomes "σ", not the contextual "ς" ICU would give.
        words = tf.strings.regex_replace(words, "Σ", "σ")
        words = tf.strings.lower(words, encoding="utf-8")
        words = _fix_lowercase(words)
    return words


def _fix_lowercase(strings):
    """Lower-cases the letters ICU's tables lack, in a branch taken only when one occurs."""
    fixes = _lowercase_fixes()
    if not fixes:
        return strings
    pattern = "[" + "".join(upper for upper, _ in fixes) + "]"

    def fix():
        fixed = strings
        for upper, lower in fixes:
            fixed = tf.strings.regex_replace(fixed, upper, lower)
        return fixed

    # An unanchored search (what regex_replace does) is far faster than a
    # full match of ".*[...].*".
    without = tf.strings.regex_replace(strings, pattern, "")
    needed = tf.reduce_any(tf.strings.length(without) < tf.strings.length(strings))
    return tf.cond(needed, fix, lambda: strings)


@functools.lru_cache(maxsize=None)
def _byte_changes(do_lower_case):
    """How normalising a character on its own changes its UTF-8 length (char_runs.byte_change_table):
    about 1900 intervals uncased, 60 cased."""
    return char_runs.byte_change_table(lambda lines: _normalize_words(lines, do_lower_case))


SPECIAL_TOKENS = {
    "padding_id": "[PAD]",
    "start_of_sequence_id": "[CLS]",
    "end_of_segment_id": "[SEP]",
    "mask_id": "[MASK]",
    "unknown_id": "[UNK]",
}


def read_vocab(vocab_file):
    """Reads a BERT vocab.txt: one token per line, the id is the line number."""
    with tf.io.gfile.GFile(vocab_file, "r") as f:
        tokens = [line.rstrip("\n").rstrip("\r") for line in f]
    while tokens and not tokens[-1]:
        tokens.pop()
    if not tokens:
        raise ValueError(f"Vocabulary file {vocab_file!r} is empty; pass a BERT vocab.txt.")
    return tokens


def special_token_ids(vocab, vocab_file):
    """Maps the special-token keys of SPECIAL_TOKENS to their ids in `vocab`."""
    index = {}
    for i, token in enumerate(vocab):
        index.setdefault(token, i)
    missing = [t for t in SPECIAL_TOKENS.values() if t not in index]
    if missing:
        raise ValueError(
            f"Vocabulary {vocab_file!r} lacks the special tokens {missing}; "
            "a BERT vocab.txt must contain [PAD], [UNK], [CLS], [SEP] and [MASK].")
    return {key: index[token] for key, token in SPECIAL_TOKENS.items()}


class BertWordpieceTokenizer(tf.Module):
    """Tokenizes strings [batch] into WordPiece ids [batch, (tokens)] int32."""

    def __init__(self, vocab_file, do_lower_case, max_chars_per_word=100, name=None):
        super().__init__(name=name)
        self.vocab_file = vocab_file
        self.do_lower_case = bool(do_lower_case)
        self.max_chars_per_word = int(max_chars_per_word)
        vocab = read_vocab(vocab_file)
        self.vocab_size = len(vocab)
        self.special_ids = special_token_ids(vocab, vocab_file)
        self._unknown_token = SPECIAL_TOKENS["unknown_id"]
        # Up to 4 UTF-8 bytes per character; longer words are cut to [UNK] below by their
        # character count, as in the reference.
        common = dict(vocab=vocab, suffix_indicator="##", max_bytes_per_word=4 * self.max_chars_per_word,
                      token_out_type=tf.int32, unknown_token=self._unknown_token)
        self._wordpiece = text.FastWordpieceTokenizer(no_pretokenization=True, **common)
        # The fast path: FastWordpiece's own whitespace/punctuation split on
        # whole normalised strings (tests check it splits exactly like BERT).
        self._wordpiece_end_to_end = text.FastWordpieceTokenizer(no_pretokenization=False, **common)
        self._starts_word = tf.constant([not t.startswith("##") for t in vocab], tf.bool)
        kept = [unicode_rules.PUNCTUATION, unicode_rules.CJK_IDEOGRAPHS]
        if self.do_lower_case:
            kept.append(_PUNCTUATION_AFTER_NFD)
        self._keep_pattern = "|".join(kept)
        self._split_pattern = f"{unicode_rules.WHITESPACE}+|{self._keep_pattern}"

    def get_special_tokens_dict(self):
        """Returns vocab_size, padding_id, start_of_sequence_id, end_of_segment_id, mask_id."""
        out = {"vocab_size": tf.constant(self.vocab_size, tf.int32)}
        for key in ("padding_id", "start_of_sequence_id", "end_of_segment_id", "mask_id"):
            out[key] = tf.constant(self.special_ids[key], tf.int32)
        return out

    def _split_words(self, strings):
        """Returns words [batch, (words)] and their byte offsets in `strings`."""
        return text.regex_split_with_offsets(
            strings, self._split_pattern, self._keep_pattern)

    def _too_long(self, normalized):
        """Whether each normalised word has more than max_chars_per_word characters ([UNK])."""
        return tf.strings.length(normalized, unit="UTF8_CHAR") > self.max_chars_per_word

    def tokenize_with_offsets(self, strings):
        """Returns (ids, starts, ends), each [batch, (tokens)].

        ids are int32; starts/ends are int64 byte offsets into the input (after
        invalid UTF-8 is replaced by U+FFFD), so input[start:end] is exactly the
        input characters a piece came from, also where normalisation changes a
        word's length (a Hangul syllable into jamo, a stripped accent, a dropped
        control character).
        An [UNK] piece spans its word's characters that survive normalisation.
        """
        return tuple(x.merge_dims(1, 2) for x in self.tokenize_words_with_offsets(strings))

    def tokenize_words_with_offsets(self, strings):
        """Like tokenize_with_offsets, grouped by word: (ids, starts, ends), each [batch, (words), (pieces)].

        A word is what the reference's pre-tokenizer splits off (a whitespace-separated
        run, one punctuation character, one CJK ideograph); question answering aligns
        answers to these words as Hugging Face's pipeline does. Words that normalise to
        nothing have no pieces.
        """
        strings = unicode_rules.sanitize_utf8(tf.convert_to_tensor(strings, tf.string))
        words, word_starts, _ = self._split_words(strings)
        flat_words = words.flat_values
        normalized = _normalize_words(flat_words, self.do_lower_case)
        too_long = self._too_long(normalized)
        ids, piece_starts, piece_ends = self._wordpiece.tokenize_with_offsets(
            tf.where(too_long, self._unknown_token, normalized))
        starts, ends = self._input_offsets(flat_words, too_long, piece_starts, piece_ends)
        word_start = tf.expand_dims(word_starts.flat_values, 1)
        return tuple(words.with_flat_values(x) for x in (ids, word_start + starts, word_start + ends))

    def _input_offsets(self, words, too_long, piece_starts, piece_ends):
        """Maps piece byte offsets in normalised words to byte offsets in the input words.

        Every input character normalises on its own to a run of bytes of its
        normalised word (an empty run when it is dropped). Laid end to end over the
        batch, the runs' ends are sorted, so a search finds the input character
        behind a piece's first byte and behind its last byte.
        """
        codes, char_starts = tf.strings.unicode_decode_with_offsets(words, "UTF-8")
        run_bytes = self._normalized_bytes(codes.flat_values)
        run_ends = tf.cumsum(run_bytes)
        word_bytes = tf.reduce_sum(codes.with_flat_values(run_bytes), axis=1)
        word_base = tf.cumsum(word_bytes, exclusive=True)
        piece_word = piece_starts.value_rowids()
        # An [UNK] for a long word was tokenized from the string "[UNK]"; it spans the whole word.
        long_piece = tf.gather(too_long, piece_word)
        first = tf.where(long_piece, tf.constant(0, tf.int64), piece_starts.flat_values)
        last = tf.where(long_piece, tf.gather(word_bytes, piece_word), piece_ends.flat_values) - 1
        base = tf.gather(word_base, piece_word)
        # Kept inside the piece's word, should the table ever disagree with the
        # normaliser (a SavedModel served by a TensorFlow with other Unicode tables).
        lowest = tf.gather(codes.row_splits[:-1], piece_word)
        highest = tf.gather(codes.row_splits[1:], piece_word) - 1

        char_bytes = char_runs.utf8_length(codes.flat_values)
        first_char = char_runs.input_chars(run_ends, base + first, lowest, highest)
        last_char = char_runs.input_chars(run_ends, base + last, lowest, highest)
        starts = tf.gather(char_starts.flat_values, first_char)
        ends = tf.gather(char_starts.flat_values + char_bytes, last_char)
        return piece_starts.with_flat_values(starts), piece_ends.with_flat_values(ends)

    def _normalized_bytes(self, code_points):
        """UTF-8 length of each character normalised on its own (0 when dropped), int64."""
        return char_runs.normalized_bytes(code_points, _byte_changes(self.do_lower_case))

    def normalize(self, strings):
        """The reference's normalisation of whole strings (steps 1-3 of the module doc).

        Whitespace becomes " " and CJK ideographs get a space on each side.
        """
        strings = unicode_rules.sanitize_utf8(
            tf.convert_to_tensor(strings, tf.string), replace_nul=False)
        if self.do_lower_case:
            strings = text.normalize_utf8(strings, "NFD")
            # Accent stripping and dropping in one pass: after NFD both only delete.
            strings = tf.strings.regex_replace(
                strings, unicode_rules.DROPPED_CHARS[:-1] + unicode_rules.NONSPACING_MARKS + "]", "")
            strings = self._lowercase(strings)
        else:
            strings = tf.strings.regex_replace(strings, unicode_rules.DROPPED_CHARS, "")
        strings = tf.strings.regex_replace(strings, unicode_rules.WHITESPACE, " ")
        return tf.strings.regex_replace(strings, f"({unicode_rules.CJK_IDEOGRAPHS})", r" \1 ")

    def _lowercase(self, strings):
        """Per-character lower-casing like the reference, with ICU doing the bulk.

        Before ICU runs, capital sigma becomes "σ" (ICU would give the contextual
        final "ς") and the letters ICU's tables lack are mapped.
        """
        strings = tf.strings.regex_replace(strings, "Σ", "σ")
        return tf.strings.lower(_fix_lowercase(strings), encoding="utf-8")

    def _unknown_long_words(self, strings, ids, starts, ends):
        """Turns the pieces of every word longer than max_chars_per_word characters into one [UNK].

        Words are recovered from the pieces (a word starts at every piece without
        "##"); only words over max_chars_per_word bytes need their characters
        counted.
        """
        flat_ids = ids.flat_values
        is_start = tf.gather(self._starts_word, flat_ids)
        word = tf.cumsum(tf.cast(is_start, tf.int32)) - 1
        first = tf.math.segment_min(starts.flat_values, word)
        last = tf.math.segment_max(ends.flat_values, word)
        row = tf.math.segment_min(tf.cast(ids.value_rowids(), tf.int32), word)
        num_bytes = last - first
        maybe = tf.where(num_bytes > self.max_chars_per_word)
        chars = tf.strings.length(
            tf.strings.substr(tf.gather(strings, tf.gather_nd(row, maybe)),
                              tf.gather_nd(first, maybe), tf.gather_nd(num_bytes, maybe)),
            unit="UTF8_CHAR")
        too_long = tf.scatter_nd(maybe, chars > self.max_chars_per_word, tf.shape(first, out_type=tf.int64))

        def replace():
            piece_too_long = tf.gather(too_long, word)
            new_ids = tf.where(piece_too_long, self.special_ids["unknown_id"], flat_ids)
            keep = tf.logical_or(tf.logical_not(piece_too_long), is_start)
            return tf.ragged.boolean_mask(ids.with_flat_values(new_ids), ids.with_flat_values(keep))

        return tf.cond(tf.reduce_any(too_long), replace, lambda: ids)

    def tokenize(self, strings):
        """Returns WordPiece ids [batch, (tokens)] int32."""
        normalized = self.normalize(strings)
        ids, starts, ends = self._wordpiece_end_to_end.tokenize_with_offsets(normalized)
        return self._unknown_long_words(normalized, ids, starts, ends)
