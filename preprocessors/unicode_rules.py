"""Character classes and in-graph string clean-up shared by the tokenizers.

The classes are RE2 patterns (what `tf.strings.regex_*` and
`tensorflow_text.regex_split_with_offsets` use). They follow the reference
BERT tokenizer as implemented by Hugging Face `tokenizers` (BertNormalizer and
BertPreTokenizer), which is what the parity tests compare against.
"""

import tensorflow as tf

# Characters BERT drops before anything else: NUL, U+FFFD, and "other"
# characters (Cc, Cf, Co; Cs cannot occur in valid UTF-8) except \t \n \r,
# which count as whitespace.
DROPPED_CHARS = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\p{Cf}\p{Co}\x{FFFD}]"

# Whitespace after dropping: the Unicode White_Space characters that are not
# control characters (Rust's char::is_whitespace minus the Cc ones above).
WHITESPACE = r"[\t\n\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]"

# BERT punctuation: all non-alphanumeric ASCII symbols plus Unicode P*.
PUNCTUATION = r"[!-/:-@\[-`{-~\p{P}]"

# The CJK Unified Ideograph blocks that BERT splits into single-character words
# (other CJK scripts, such as kana and hangul, are written with spaces or not
# and are left alone, as in the reference).
CJK_IDEOGRAPHS = (
    r"[\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B73F}"
    r"\x{2B740}-\x{2B81F}\x{2B820}-\x{2CEAF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}]"
)

# Combining (non-spacing) marks, removed by accent stripping after NFD.
NONSPACING_MARKS = r"\p{Mn}"


def sanitize_utf8(strings, replace_nul=True):
    """Replaces invalid UTF-8 by U+FFFD and NUL by U+0001.

    All later regex and normalisation ops then see valid UTF-8; the tokenizers
    drop U+FFFD like the reference does, so invalid bytes vanish from the output.
    """
    def transcode():
        return tf.strings.unicode_transcode(
            strings,
            input_encoding="UTF-8",
            output_encoding="UTF-8",
            errors="replace",
            replacement_char=0xFFFD,
            replace_control_characters=False,
        )

    # RE2 matches "(?s).*" only on valid UTF-8; that check is ~8x cheaper than
    # transcoding, so the transcode runs only for batches with invalid bytes.
    valid = tf.reduce_all(tf.strings.regex_full_match(strings, "(?s).*"))
    strings = tf.cond(valid, lambda: tf.identity(strings), transcode)
    if not replace_nul:
        return strings
    # tensorflow-text's regex_split stops at NUL; U+0001 has the same length and
    # is dropped by the WordPiece tokenizer later, exactly as NUL is.
    return tf.strings.regex_replace(strings, "\x00", "\x01")
