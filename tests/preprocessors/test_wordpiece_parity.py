"""WordPiece parity with Hugging Face BertTokenizer on the real multilingual corpus.

Compared, per passage: token ids (no specials) of ours and of HF
`tokenizers`' BertWordPieceTokenizer / transformers' BertTokenizer; and the
packed input_word_ids at seq_length 128 for singles (vs HF's own truncation
and padding) and for pairs of consecutive passages (vs the round-robin packing
of HF's ids by tests.preprocessors.reference_packing). HF's literal special
tokens are disabled (encode_special_tokens), as the original BERT splits
"[MASK]" in text like any other word.
"""

import unicodedata

import numpy as np
import pytest
import tensorflow as tf

from preprocessors.full_tokenizer import FullTokenizer
from preprocessors.packing import bert_pack_inputs
from preprocessors.wordpiece import BertWordpieceTokenizer
from tests.preprocessors import reference_packing

pytestmark = pytest.mark.slow
SEQ_LENGTH = 128


def hf_tokenizer(vocab_file, lower):
    from tokenizers.implementations import BertWordPieceTokenizer as HfBert
    hf = HfBert(vocab_file, lowercase=lower)
    hf._tokenizer.encode_special_tokens = True
    return hf._tokenizer


def check_parity(vocab_file, lower, passages):
    ours = BertWordpieceTokenizer(vocab_file, lower)
    hf = hf_tokenizer(vocab_file, lower)
    ref_ids = [e.ids for e in hf.encode_batch(passages, add_special_tokens=False)]
    our_ids = ours.tokenize(tf.constant(passages)).to_list()
    mismatched = [i for i, (a, b) in enumerate(zip(our_ids, ref_ids)) if a != b]
    assert not mismatched, [(passages[i], our_ids[i], ref_ids[i]) for i in mismatched[:3]]
    assert sum(len(x) for x in ref_ids) > 50_000  # real work, not empty output

    special = ours.special_ids
    # Singles: HF truncates and pads itself.
    hf.enable_truncation(SEQ_LENGTH)
    hf.enable_padding(length=SEQ_LENGTH, pad_id=special["padding_id"])
    ref_single = np.array([e.ids for e in hf.encode_batch(passages)])
    tokens = ours.tokenize(tf.constant(passages))
    packed = bert_pack_inputs([tokens], SEQ_LENGTH, special)
    np.testing.assert_array_equal(packed["input_word_ids"].numpy(), ref_single)
    np.testing.assert_array_equal(packed["input_mask"].numpy(), ref_single != special["padding_id"])
    # Pairs of consecutive passages, round-robin truncation of HF's ids.
    firsts, seconds = ref_ids[:-1], ref_ids[1:]
    ref_pairs = np.array([
        reference_packing.pack([a, b], SEQ_LENGTH, special["start_of_sequence_id"],
                               special["end_of_segment_id"], special["padding_id"])[0]
        for a, b in zip(firsts, seconds)])
    packed = bert_pack_inputs([tokens[:-1], tokens[1:]], SEQ_LENGTH, special)
    np.testing.assert_array_equal(packed["input_word_ids"].numpy(), ref_pairs)
    truncated = sum(len(a) + len(b) + 3 > SEQ_LENGTH for a, b in zip(firsts, seconds))
    assert truncated > 100  # the truncation path is really exercised
    return ours


def test_uncased_minilm_vocab_matches_hf(minilm_vocab, passages):
    ours = check_parity(minilm_vocab, True, passages)
    # transformers' BertTokenizer (loaded as users load it) agrees as well.
    import pathlib
    from transformers import BertTokenizer
    hf = BertTokenizer.from_pretrained(str(pathlib.Path(minilm_vocab).parent))
    hf.backend_tokenizer.encode_special_tokens = True
    sample = passages[::7]
    ref = hf(sample, add_special_tokens=False)["input_ids"]
    assert ours.tokenize(tf.constant(sample)).to_list() == ref


def test_cased_minilm_vocab_matches_hf(minilm_vocab, passages):
    check_parity(minilm_vocab, False, passages)


def test_cased_multilingual_vocab_matches_hf(multilingual_vocab, passages):
    check_parity(multilingual_vocab, False, passages)


def test_uncased_multilingual_vocab_matches_hf(multilingual_vocab, passages):
    check_parity(multilingual_vocab, True, passages)


@pytest.mark.parametrize("lower", [True, False])
def test_full_tokenizer_equals_in_graph_tokenizer(multilingual_vocab, passages, lower):
    ours = BertWordpieceTokenizer(multilingual_vocab, lower)
    python = FullTokenizer(multilingual_vocab, lower)
    in_graph = ours.tokenize(tf.constant(passages)).to_list()
    for passage, ids in zip(passages, in_graph):
        assert python.encode(passage) == ids, passage


@pytest.mark.parametrize("lower", [True, False])
def test_tokenize_with_offsets_gives_the_same_ids(multilingual_vocab, passages, lower):
    ours = BertWordpieceTokenizer(multilingual_vocab, lower)
    texts = tf.constant(passages)
    ids, starts, ends = ours.tokenize_with_offsets(texts)
    assert ids.to_list() == ours.tokenize(texts).to_list()
    assert (ends.flat_values >= starts.flat_values).numpy().all()


@pytest.mark.parametrize("lower", [True, False])
def test_every_code_point_matches_hf_where_hf_tables_are_current(tmp_path, lower):
    """Every code point of planes 0-3 and 14, in "a{c}a a{c}{c}a".

    Normalised text must equal FullTokenizer's (Python's unicodedata, Unicode
    14) on every code point assigned in Unicode 14. Ids with the vocabulary
    {a, ##a} show how each character splits (dropped: "a", "##a"; whitespace:
    "a", "a"; punctuation: "a", [UNK], "a"; letter: [UNK]); they must equal
    FullTokenizer's, and HF's wherever HF's normaliser and pre-tokenizer agree
    with FullTokenizer on that string's text and words. HF's Rust tables are older than Unicode
    14, so on characters added since they differ from both.
    """
    from tokenizers.implementations import BertWordPieceTokenizer as HfBert
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##a"]) + "\n")
    hf = HfBert(str(vocab), lowercase=lower)._tokenizer
    hf.encode_special_tokens = True
    ours = BertWordpieceTokenizer(str(vocab), lower)
    python = FullTokenizer(str(vocab), lower)
    code_points = [cp for cp in list(range(0x323B0)) + list(range(0xE0000, 0xE01F0))
                   if not 0xD800 <= cp < 0xE000 and unicodedata.category(chr(cp)) != "Cn"]
    strings = [f"a{chr(cp)}a a{chr(cp)}{chr(cp)}a" for cp in code_points]
    normalized = [s.decode("utf-8") for s in ours.normalize(tf.constant(strings)).numpy()]
    ids = ours.tokenize(tf.constant(strings)).to_list()
    hf_ids = [e.ids for e in hf.encode_batch(strings, add_special_tokens=False)]
    bad_normal, bad_ids, stale_hf = [], [], 0
    for cp, s, norm, got, theirs in zip(code_points, strings, normalized, ids, hf_ids):
        want_norm = python.normalize(s)
        if norm != want_norm:
            bad_normal.append(f"U+{cp:04X}")
        want = python.encode(s)
        # HF is current on s when its normaliser and its pre-tokenizer do what
        # FullTokenizer does (judged on text and words, not on the ids compared).
        hf_current = (hf.normalizer.normalize_str(s) == want_norm and
                      [w for w, _ in hf.pre_tokenizer.pre_tokenize_str(want_norm)]
                      == python.split_words(s))
        stale_hf += not hf_current
        if got != want or (hf_current and got != theirs):
            bad_ids.append((f"U+{cp:04X}", got, want, theirs))
    assert bad_normal == [] and bad_ids == []
    assert stale_hf < 0.01 * len(code_points)
    print(f"lower={lower}: {len(code_points)} code points compared, "
          f"{stale_hf} where HF's tables are older than Unicode 14")


def byte_spans(text, char_spans):
    """Converts (start, end) code point offsets into `text` to UTF-8 byte offsets."""
    starts = np.cumsum([0] + [len(c.encode("utf-8")) for c in text])
    return [(int(starts[s]), int(starts[e])) for s, e in char_spans]


def stale_in_hf(hf, python, chars):
    """Whether HF's normaliser differs from FullTokenizer's (Unicode 14) on each of `chars`."""
    return bool(chars) and all(hf.normalizer.normalize_str(c) != python.normalize(c) for c in chars)


def offset_mismatches(vocab_file, lower, texts):
    """Compares every piece's input byte span with HF's offset_mapping.

    Returns (pieces compared, mismatches HF's older Unicode tables explain,
    other mismatches). The one departure expected: HF's Rust character tables
    predate Unicode 14 (see preprocessors.wordpiece), so HF keeps some combining
    marks that the original BERT tokenizer strips, and its spans then include
    them; such a mismatch is explained when every character in one span and not
    the other normalises differently in HF and in FullTokenizer.
    """
    hf = hf_tokenizer(vocab_file, lower)
    python = FullTokenizer(vocab_file, lower)
    ours = BertWordpieceTokenizer(vocab_file, lower)
    ids, starts, ends = ours.tokenize_with_offsets(tf.constant(texts))
    encodings = hf.encode_batch(texts, add_special_tokens=False)
    compared, explained, other = 0, [], []
    for text, encoding, our_ids, our_starts, our_ends in zip(
            texts, encodings, ids.to_list(), starts.to_list(), ends.to_list()):
        assert our_ids == encoding.ids, text
        raw = text.encode("utf-8")
        theirs = byte_spans(text, encoding.offsets)
        for piece, (start, end), want in zip(encoding.tokens, zip(our_starts, our_ends), theirs):
            compared += 1
            if (start, end) == want:
                continue
            differ = set(raw[start:end].decode()) ^ set(raw[want[0]:want[1]].decode())
            mismatch = (text, piece, raw[start:end].decode(), raw[want[0]:want[1]].decode())
            (explained if stale_in_hf(hf, python, differ) else other).append(mismatch)
    return compared, explained, other


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("vocab", ["multilingual_vocab", "minilm_vocab"])
def test_offsets_match_hf_offset_mapping(request, passages, vocab, lower):
    """Every piece's byte span equals HF's offset_mapping (code points -> bytes)."""
    compared, explained, other = offset_mismatches(
        request.getfixturevalue(vocab), lower, passages)
    assert other == []
    assert compared > 150_000
    assert len(explained) <= 10, explained[:3]
    print(f"{vocab} lower={lower}: {len(passages)} passages, {compared} pieces compared, "
          f"{len(explained)} differ where HF's tables are older than Unicode 14")
