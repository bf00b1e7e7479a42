"""Pure-Python BERT WordPiece tokenizer for users of the `vocab_file` asset.

Same rules and same ids as preprocessors.wordpiece.BertWordpieceTokenizer
(see its docstring), without TensorFlow: for legacy code that reads the
vocabulary asset of an exported model and tokenizes on the host.
"""

import unicodedata

_UNKNOWN = "[UNK]"
_SUFFIX = "##"
_WHITESPACE = frozenset(
    "\t\n\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000"
    + "".join(chr(cp) for cp in range(0x2000, 0x200B)))
_CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)


def _is_dropped(char):
    if char in "\t\n\r":
        return False
    return ord(char) in (0, 0xFFFD) or unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs")


def _is_cjk(char):
    cp = ord(char)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _is_punctuation(char):
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


class FullTokenizer:
    """Tokenizes text into WordPiece tokens and ids with a BERT vocab.txt."""

    def __init__(self, vocab_file, do_lower_case, max_chars_per_word=100):
        self.do_lower_case = bool(do_lower_case)
        self.max_chars_per_word = max_chars_per_word
        with open(vocab_file, encoding="utf-8") as f:
            tokens = [line.rstrip("\n").rstrip("\r") for line in f]
        while tokens and not tokens[-1]:
            tokens.pop()
        self.vocab = {}
        for i, token in enumerate(tokens):
            self.vocab.setdefault(token, i)
        self.inv_vocab = dict(enumerate(tokens))
        if _UNKNOWN not in self.vocab:
            raise ValueError(f"Vocabulary {vocab_file!r} has no {_UNKNOWN} token.")

    def normalize(self, text):
        """Drops control characters, spaces out CJK, and case/accent-folds if uncased."""
        chars = []
        for char in text:
            if _is_dropped(char):
                continue
            if char in _WHITESPACE:
                chars.append(" ")
            elif _is_cjk(char):
                chars.extend((" ", char, " "))
            else:
                chars.append(char)
        text = "".join(chars)
        if self.do_lower_case:
            text = unicodedata.normalize("NFD", text)
            # Character by character, as the in-graph tokenizer: no final sigma.
            text = "".join(c.lower() for c in text if unicodedata.category(c) != "Mn")
        return text

    def split_words(self, text):
        """Whitespace- and punctuation-split words of the normalised text."""
        words, current = [], []
        for char in self.normalize(text):
            if char in _WHITESPACE or _is_punctuation(char):
                if current:
                    words.append("".join(current))
                    current = []
                if char not in _WHITESPACE:
                    words.append(char)
            else:
                current.append(char)
        if current:
            words.append("".join(current))
        return words

    def wordpiece(self, word):
        """Greedy longest-match-first WordPiece of one word."""
        if len(word) > self.max_chars_per_word:
            return [_UNKNOWN]
        pieces, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else _SUFFIX + word[start:end]
                if piece in self.vocab:
                    pieces.append(piece)
                    start = end
                    break
            else:
                return [_UNKNOWN]
        return pieces

    def tokenize(self, text):
        """Text -> WordPiece token strings."""
        return [piece for word in self.split_words(text) for piece in self.wordpiece(word)]

    def convert_tokens_to_ids(self, tokens):
        return [self.vocab[t] for t in tokens]

    def convert_ids_to_tokens(self, ids):
        return [self.inv_vocab[i] for i in ids]

    def encode(self, text):
        """Text -> WordPiece ids (no [CLS]/[SEP])."""
        return self.convert_tokens_to_ids(self.tokenize(text))
