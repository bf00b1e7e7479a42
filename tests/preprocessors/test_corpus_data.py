"""Invariants of the multilingual corpus that the preprocessor parity tests rely on."""

import re
import unicodedata

import pytest

from tests.preprocessors import corpus_data

EMOJI_RE = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")
SKIN_TONE_RE = re.compile("[\U0001F300-\U0001FAFF\u261D\u270A-\u270D][\U0001F3FB-\U0001F3FF]")
ZWJ_SEQUENCE_RE = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]\uFE0F?\u200D[\U0001F300-\U0001FAFF\u2600-\u27BF]")


def _has_script(word):
    return lambda line: any(unicodedata.name(c, "").startswith(word) for c in line)


def _han_with(punctuation):
    return lambda line: punctuation in line and _has_script("CJK UNIFIED")(line)


REQUIRED = {
    "German sharp s": lambda line: "ß" in line,
    "German umlauts": lambda line: re.search("[äöüÄÖÜ]", line),
    "French accents": lambda line: re.search("[éèêçàù]", line),
    "Spanish ñ": lambda line: "ñ" in line,
    "Portuguese tilde": lambda line: re.search("[ãõ]", line),
    "Vietnamese": lambda line: re.search("[ươạếộờ]", line),
    "Russian Cyrillic": lambda line: re.search("[ыэъ]", line),
    "Ukrainian Cyrillic": lambda line: re.search("[іїєґ]", line),
    "Greek with final sigma": lambda line: re.search("[α-ω]ς", line),
    "upper-case Greek word ending in sigma": lambda line: re.search("[Α-Ω]Σ\\b", line),
    "Chinese fullwidth comma": _han_with("，"),
    "Chinese/Japanese full stop": _han_with("。"),
    "corner brackets": lambda line: "「" in line and "」" in line,
    "fullwidth exclamation mark": lambda line: "！" in line,
    "fullwidth question mark": lambda line: "？" in line,
    "Japanese hiragana": _has_script("HIRAGANA"),
    "Japanese katakana": _has_script("KATAKANA"),
    "Korean hangul": _has_script("HANGUL"),
    "Arabic": _has_script("ARABIC"),
    "Hebrew": _has_script("HEBREW"),
    "Devanagari": _has_script("DEVANAGARI"),
    "Thai": _has_script("THAI"),
    "Turkish dotted capital I": lambda line: "İ" in line,
    "Turkish dotless i": lambda line: "ı" in line,
    "Latin letter with combining accent (NFD)": lambda line: re.search("[A-Za-z][\u0300-\u036f]", line),
    "emoji": lambda line: EMOJI_RE.search(line),
    "emoji ZWJ sequence": lambda line: ZWJ_SEQUENCE_RE.search(line),
    "emoji skin tone": lambda line: SKIN_TONE_RE.search(line),
    "URL": lambda line: "https://" in line,
    "code": lambda line: re.search(r"\w+\(.*\)", line) and "=" in line,
    "word longer than 100 characters": lambda line: any(len(w) > 100 for w in line.split()),
}
REQUIRED.update(
    {f"control character {c!r}": (lambda c: lambda line: c in line)(c)
     for c in [chr(i) for i in range(0x20) if i not in (0x0A, 0x0D)] + ["\x7f", "\u200b", "\u200d", "\ufeff", "\u00a0"]})


@pytest.fixture(scope="module")
def passages():
    return corpus_data.read_passages()


def test_file_is_utf8_with_unix_lines_and_small():
    data = corpus_data.CORPUS_PATH.read_bytes()
    data.decode("utf-8")  # strict: raises on invalid UTF-8
    assert b"\r" not in data
    assert data.endswith(b"\n")
    assert not data.startswith(b"\xef\xbb\xbf"), "a leading BOM would be eaten by utf-8-sig readers"
    assert len(data) < 3_000_000


def test_has_thousands_of_distinct_nonempty_passages(passages):
    assert len(passages) >= 3000
    assert all(passages), "empty line in the corpus"
    assert len(set(passages)) == len(passages)


def test_read_passages_splits_on_newline_only(passages):
    text = corpus_data.CORPUS_PATH.read_text(encoding="utf-8")
    assert len(passages) == text.count("\n")
    assert len(text.splitlines()) > len(passages), "corpus should hold characters splitlines() breaks on"


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_required_content_is_present(passages, name):
    assert any(REQUIRED[name](p) for p in passages), f"no passage has {name}; rerun tools/collect_corpus.py"
