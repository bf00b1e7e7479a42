"""Unit tests of the in-graph WordPiece tokenizer on tricky characters (tiny vocab).

Each expectation is FullTokenizer's (pure Python, unicodedata) and HF
tokenizers' on the same vocab, computed here.
"""

import pytest
import tensorflow as tf
from hypothesis import given, settings, strategies as st

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
    # "x\x00y" loses a character to normalisation, so its piece spans the word.
    assert pieces == ["HELLO", "Café", "NAÏVE", "straße", ",", "x\x00y"]
    assert ids.to_list() == tok.tokenize(tf.constant([text])).to_list()
