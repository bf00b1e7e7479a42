"""Unit tests of the ALBERT SentencePiece tokenizer with a tiny model trained here."""

import pytest
from hypothesis import given, settings, strategies as st
import tensorflow as tf

from preprocessors.sentencepiece import AlbertSentencepieceTokenizer

TEXTS = ["The year 1998, was great.  Straße  café ``q'' x", "Привет 2020, 3,4",
         "", " hello 12, 13,", "a\x00b\u3000c", "ΟΔΟΣ"]


@pytest.mark.parametrize("lower", [True, False])
def test_matches_albert_reference(tiny_sp_model, lower):
    import sentencepiece as spm
    from official.nlp.tools import tokenization
    sp = spm.SentencePieceProcessor(model_file=tiny_sp_model)
    ours = AlbertSentencepieceTokenizer(tiny_sp_model, lower).tokenize(tf.constant(TEXTS)).to_list()
    resplit = 0
    for text, ids in zip(TEXTS, ours):
        normalized = tokenization.preprocess_text(
            text.replace("``", '"').replace("''", '"'), lower=lower)
        pieces = tokenization.encode_pieces(sp, normalized)
        resplit += len(pieces) != len(sp.encode_as_pieces(normalized))
        assert ids == [sp.PieceToId(p) for p in pieces], text
    assert resplit > 0  # the digit-comma re-split really happened


def test_special_tokens_and_zero_batch(tiny_sp_model):
    tok = AlbertSentencepieceTokenizer(tiny_sp_model, True)
    special = {k: int(v) for k, v in tok.get_special_tokens_dict().items()}
    assert special["padding_id"] == 0 and special["vocab_size"] == tok.vocab_size
    assert tok.tokenize(tf.constant([], tf.string)).shape[0] == 0
    assert tok.tokenize(tf.constant([b"\xff ok"])).shape[0] == 1


_text = st.text(alphabet=st.one_of(
    st.characters(blacklist_categories=("Cs",)), st.sampled_from("0123456789, `'\u00a0\t")),
    max_size=50)


@settings(max_examples=30, deadline=None)
@given(texts=st.lists(_text, min_size=1, max_size=3), lower=st.booleans())
def test_random_unicode_matches_albert_reference(tiny_sp_model, texts, lower):
    import sentencepiece as spm
    from official.nlp.tools import tokenization
    sp = spm.SentencePieceProcessor(model_file=tiny_sp_model)
    ours = _tokenizers(tiny_sp_model)[lower].tokenize(tf.constant(texts)).to_list()
    for text, ids in zip(texts, ours):
        normalized = tokenization.preprocess_text(
            text.replace("``", '"').replace("''", '"'), lower=lower)
        assert ids == [sp.PieceToId(p) for p in tokenization.encode_pieces(sp, normalized)], text


_cache = {}


def _tokenizers(path):
    if path not in _cache:
        _cache[path] = {lower: AlbertSentencepieceTokenizer(path, lower) for lower in (True, False)}
    return _cache[path]
