"""Reads tests/data/multilingual_passages.txt, the real multilingual text of the parity tests.

Passages hold control characters that str.splitlines() would take as line breaks
(\\x0b, \\x0c, \\x1c-\\x1e, \\x85, \\u2028, \\u2029), so lines are split on "\\n" only.
"""

import pathlib

CORPUS_PATH = pathlib.Path(__file__).resolve().parents[1] / "data" / "multilingual_passages.txt"


def read_passages(path=CORPUS_PATH):
    """Returns the corpus passages, one per line, in file order."""
    data = pathlib.Path(path).read_bytes().decode("utf-8")
    if not data.endswith("\n"):
        raise ValueError(f"{path} must end with a newline; regenerate it with `python -m tools.collect_corpus`")
    return data[:-1].split("\n")
