"""The documented ways Hugging Face's ALBERT tokenizer departs from the ALBERT reference (and ours).

Named once, for every test that compares with Hugging Face on ALBERT text
(test_sentencepiece_parity has the details): HF has no digit-comma re-split; its
StripAccents drops all marks (Mn, Mc, Me) where ALBERT drops characters with a
non-zero combining class; it lower-cases without final sigma; it treats
\\x0b \\x0c \\x1c-\\x1f \\x85 as characters, not spaces; and its charsmap does
not recompose NFKD Hangul jamo. Besides these, two segmentations of (nearly) equal
score may be chosen differently (equal_score_tie).
"""

import re
import unicodedata

_DIGIT_COMMA = re.compile(r"\d,")


def hf_albert_departure(text, lower):
    """The name of a documented departure that can change how HF tokenizes `text`, or None."""
    nfkd = unicodedata.normalize("NFKD", text)
    if _DIGIT_COMMA.search(text):
        return "digit-comma re-split"
    if any((unicodedata.category(c) in ("Mn", "Mc", "Me")) != (unicodedata.combining(c) != 0) for c in nfkd):
        return "marks stripped by category"
    if lower and "\u03a3" in text:
        return "no final sigma"
    if any(c in "\x0b\x0c\x1c\x1d\x1e\x1f\x85" for c in text):
        return "separators as characters"
    if any("\u1100" <= c <= "\u11ff" for c in nfkd):
        return "Hangul jamo not recomposed"
    return None


def equal_score_tie(sp_model_file, ours, theirs):
    """Whether two id sequences of one text are equally good SentencePiece segmentations (same
    length, total scores within 2e-3): a Viterbi tie, which tensorflow-text's SentencePiece, the
    sentencepiece package and HF's Unigram each break their own way. SentencePiece sums the lattice
    in float32, so deep into a long text (thousands of characters, totals in the thousands) it can
    also take the slightly worse of two segmentations ("lu"+"n" for "l"+"un", 3e-4 and 1.2e-3 apart)
    where HF's Unigram, in float64, takes the better one.
    """
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(sp_model_file))
    score = lambda ids: sum(sp.GetScore(i) for i in ids)  # noqa: E731
    return len(ours) == len(theirs) and abs(score(ours) - score(theirs)) <= 2e-3
