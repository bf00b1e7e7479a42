"""Unit tests of the in-graph WordPiece tokenizer on tricky characters (tiny vocab).

Each expectation is FullTokenizer's (pure Python, unicodedata) and HF
tokenizers' on the same vocab, computed here.
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings, strategies as st

from preprocessors import wordpiece
from preprocessors.full_tokenizer import FullTokenizer
from preprocessors.packing import bert_pack_inputs
from preprocessors.wordpiece import BertWordpieceTokenizer

TRICKY = [
    "Straße ß", "İstanbul", "ΣΑΣ σας", "ＡＢ，x 中文", "cafe\u0301 naïve", "hello 😀👍🏽 world",
    "a\x00b\x01c\u200bd\ufeffe", "x\u00a0y\u3000z\u2028w", "x≠y `a`", "unaffable",
    "[MASK] it's", "a" * 101 + " b", "a" * 100, "", "  \t\n ", "\ufffd",
]


@pytest.mark.parametrize("lower", [True, False])
def test_tricky_strings_match_python_and_hf(tiny_vocab, lower):
    from tokenizers.implementations import BertWordPieceTokenizer as HfBert
    hf = HfBert(tiny_vocab, lowercase=lower)._tokenizer
    hf.encode_special_tokens = True
    ours = BertWordpieceTokenizer(tiny_vocab, lower).tokenize(tf.constant(TRICKY)).to_list()
    python = FullTokenizer(tiny_vocab, lower)
    for text, ids in zip(TRICKY, ours):
        assert ids == python.encode(text), text
        assert ids == hf.encode(text, add_special_tokens=False).ids, text


def test_case_folding_is_not_nfkc(tiny_vocab):
    tok = BertWordpieceTokenizer(tiny_vocab, True)
    python = FullTokenizer(tiny_vocab, True)
    ids = tok.tokenize(tf.constant(["straße", "，"])).to_list()
    assert python.convert_ids_to_tokens(ids[0]) == ["straße"]
    assert python.convert_ids_to_tokens(ids[1]) == ["，"]


def test_long_words_and_invalid_utf8(tiny_vocab):
    tok = BertWordpieceTokenizer(tiny_vocab, True)
    unk = tok.special_ids["unknown_id"]
    ids = tok.tokenize(tf.constant([b"\xff\xfehello", "é" * 101, "é" * 60])).to_list()
    assert ids[0] == tok.tokenize(tf.constant(["hello"])).to_list()[0]
    assert ids[1] == [unk] and ids[2] == [unk]  # 101 chars, and 60 chars not in vocab
    assert tok.tokenize(tf.constant([], tf.string)).shape[0] == 0


def test_offsets_point_into_input(tiny_vocab):
    tok = BertWordpieceTokenizer(tiny_vocab, False)
    text = "Hello, world! unaffable"
    ids, starts, ends = tok.tokenize_with_offsets(tf.constant([text]))
    python = FullTokenizer(tiny_vocab, False)
    pieces = [text.encode()[s:e].decode() for s, e in zip(starts[0].numpy(), ends[0].numpy())]
    tokens = python.convert_ids_to_tokens(ids[0].numpy().tolist())
    assert pieces == [t.replace("##", "") for t in tokens]


def test_missing_special_tokens_is_a_clear_error(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\nhello\n")
    with pytest.raises(ValueError, match=r"lacks the special tokens .*\[UNK\]"):
        BertWordpieceTokenizer(str(vocab), True)


_unicode_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=30, deadline=None)
@given(texts=st.lists(_unicode_text, min_size=1, max_size=3),
       seq_length=st.integers(3, 24), lower=st.booleans())
def test_random_unicode_properties(multilingual_vocab_small, texts, seq_length, lower):
    """Random Unicode: equals FullTokenizer; packing keeps its invariants."""
    vocab_file, tokenizers = multilingual_vocab_small
    tok, python = tokenizers[lower]
    tokens = tok.tokenize(tf.constant(texts))
    assert tokens.to_list() == [python.encode(t) for t in texts]
    special = tok.special_ids
    segments = [tokens, tokens[::-1]]
    out = bert_pack_inputs(segments, seq_length, special)
    ids, mask = out["input_word_ids"].numpy(), out["input_mask"].numpy()
    assert ids.shape == (len(texts), seq_length)
    assert (mask == (ids != special["padding_id"])).all()
    assert ((ids == special["start_of_sequence_id"]).sum(axis=1) == 1).all()
    assert ((ids == special["end_of_segment_id"]).sum(axis=1) == 2).all()
    types = out["input_type_ids"].numpy()
    assert set(types[mask > 0].tolist()) <= {0, 1}


@pytest.fixture(scope="module")
def multilingual_vocab_small(multilingual_vocab):
    return multilingual_vocab, {
        lower: (BertWordpieceTokenizer(multilingual_vocab, lower),
                FullTokenizer(multilingual_vocab, lower)) for lower in (True, False)}


def test_offsets_map_back_through_case_and_accent_folding(tiny_vocab):
    tok = BertWordpieceTokenizer(tiny_vocab, True)
    text = "HELLO Café NAÏVE straße,x\u0000y"
    ids, starts, ends = tok.tokenize_with_offsets(tf.constant([text]))
    raw = text.encode()
    pieces = [raw[s:e].decode() for s, e in zip(starts[0].numpy(), ends[0].numpy())]
    # "xy" (NUL dropped) is not in the vocab; its [UNK] spans the whole word.
    assert pieces == ["HELLO", "Café", "NAÏVE", "straße", ",", "x\x00y"]
    assert ids.to_list() == tok.tokenize(tf.constant([text])).to_list()


OFFSET_CASES = [
    "Café", "İstanbul", "STRASSE", "ǅemal", "cafe\u0301 e\u0301\u0302x \u0301x",
    "😀👍🏽 ok😀", "中文字", "x\x00y a\u200bb \x01ok\x7f", "한국", "ΣΑΣ", "Ǆ ǆ",
]


@pytest.fixture(scope="module")
def offsets_vocab(tmp_path_factory):
    """Pieces that split inside characters NFD expands (Hangul syllables into jamo)."""
    words = ["caf", "##e", "##é", "Caf", "is", "İs", "##tan", "##bul", "st", "ST", "##ras", "##RAS",
             "##se", "##SE", "ǆ", "ǅ", "##emal", "e", "##x", "x", "ok", "##y", "a", "##b",
             "中", "文", "ᄒ", "##ᅡ", "##ᆫ", "##ᄀ", "##ᅮ", "##ᆨ", "σ", "##α", "##σ", "Σ", "##Α", "##Σ"]
    path = tmp_path_factory.mktemp("offsets_vocab") / "vocab.txt"
    path.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words) + "\n",
                    encoding="utf-8")
    return str(path)


def pieces_with_spans(vocab_file, lower, text):
    """[(piece, input text of its span)] from tokenize_with_offsets."""
    ids, starts, ends = BertWordpieceTokenizer(vocab_file, lower).tokenize_with_offsets(
        tf.constant([text]))
    tokens = FullTokenizer(vocab_file, lower).convert_ids_to_tokens(ids[0].numpy().tolist())
    raw = text.encode()
    return [(t, raw[s:e].decode()) for t, s, e in zip(tokens, starts[0].numpy(), ends[0].numpy())]


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("text", OFFSET_CASES)
def test_offset_span_renormalises_to_its_piece(offsets_vocab, lower, text):
    """Each piece's input text, normalised again, contains the piece (an [UNK] its word)."""
    python = FullTokenizer(offsets_vocab, lower)
    words = python.split_words(text)
    pieces = pieces_with_spans(offsets_vocab, lower, text)
    assert [t for t, _ in pieces] == python.tokenize(text)
    for token, span in pieces:
        if token == "[UNK]":
            assert python.split_words(span) in [[word] for word in words], (token, span)
        else:
            assert token.removeprefix("##") in python.normalize(span), (token, span)


@pytest.mark.parametrize("lower, text, want", [
    (True, "Café", [("caf", "Caf"), ("##e", "é")]),
    (True, "cafe\u0301", [("caf", "caf"), ("##e", "e")]),  # the mark is dropped, as in HF
    (True, "İstanbul", [("is", "İs"), ("##tan", "tan"), ("##bul", "bul")]),
    (True, "STRASSE", [("st", "ST"), ("##ras", "RAS"), ("##se", "SE")]),
    (True, "ǅemal", [("ǆ", "ǅ"), ("##emal", "emal")]),  # a title-case letter, no NFD split
    (True, "한국", [("ᄒ", "한"), ("##ᅡ", "한"), ("##ᆫ", "한"), ("##ᄀ", "국"), ("##ᅮ", "국"),
                   ("##ᆨ", "국")]),
    (True, "a\u200bb \x01ok\x7f", [("a", "a"), ("##b", "b"), ("ok", "ok")]),
    (True, "😀👍🏽 中文", [("[UNK]", "😀👍🏽"), ("中", "中"), ("文", "文")]),
    (False, "Café", [("Caf", "Caf"), ("##é", "é")]),
    (False, "cafe\u0301", [("[UNK]", "cafe\u0301")]),
    (False, "ǅemal", [("ǅ", "ǅ"), ("##emal", "emal")]),
    (False, "İstanbul", [("İs", "İs"), ("##tan", "tan"), ("##bul", "bul")]),
    (False, "STRASSE", [("ST", "ST"), ("##RAS", "RAS"), ("##SE", "SE")]),
    (False, "x\x00y", [("x", "x"), ("##y", "y")]),
])
def test_offsets_of_length_changing_normalisation(offsets_vocab, lower, text, want):
    assert pieces_with_spans(offsets_vocab, lower, text) == want


def test_offsets_of_long_word_unk_span_the_word(offsets_vocab):
    text = "ok \x01" + "é" * 101 + "\x01 ok"
    assert pieces_with_spans(offsets_vocab, True, text) == [
        ("ok", "ok"), ("[UNK]", "é" * 101), ("ok", "ok")]


@pytest.mark.parametrize("lower", [True, False])
def test_offsets_match_hf_on_hand_made_cases(offsets_vocab, lower):
    from tests.preprocessors.test_wordpiece_parity import offset_mismatches
    compared, explained, other = offset_mismatches(offsets_vocab, lower, OFFSET_CASES)
    assert (explained, other) == ([], []) and compared > 20


@pytest.mark.parametrize("lower", [True, False])
def test_byte_change_table_equals_normalising_each_character(lower):
    """The table of per-character length changes, built from lines, equals one string per character."""
    code_points = np.array([cp for cp in list(range(0x40000)) + list(range(0xE0000, 0xF0100))
                            if not 0xD800 <= cp < 0xE000 and cp != 0x0A], np.int32)
    chars = tf.strings.unicode_encode(code_points[:, None], "UTF-8")
    want = tf.strings.length(wordpiece._normalize_words(chars, lower)).numpy()
    starts, changes = wordpiece._byte_changes(lower)
    got = changes[np.searchsorted(starts, code_points, side="right") - 1] + np.array(
        [len(chr(cp).encode()) for cp in code_points])
    np.testing.assert_array_equal(got, want)
