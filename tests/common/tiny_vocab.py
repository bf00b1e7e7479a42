"""A tiny WordPiece vocabulary (100 lines) that tests write next to tiny encoders."""

import pathlib

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ("the quick brown fox jumps over lazy dog hello world a man is playing guitar on stage "
         "cat sleeps sofa all morning how do i reset my password recipe needs two cups of flour").split()


def write_vocab(directory, size=100):
    """A WordPiece vocab.txt of exactly `size` lines: specials, words, ##pieces, filler."""
    tokens = SPECIALS + sorted(set(WORDS))
    tokens += [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"] + list("abcdefghijklmnopqrstuvwxyz.,!?")
    tokens = list(dict.fromkeys(tokens))[:size]
    tokens += [f"[unused{i}]" for i in range(size - len(tokens))]
    path = pathlib.Path(directory) / "vocab.txt"
    path.write_text("\n".join(tokens) + "\n")
    return path
