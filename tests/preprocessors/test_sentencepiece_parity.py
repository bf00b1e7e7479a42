"""SentencePiece (ALBERT) parity on the real multilingual corpus.

The SentencePiece model is trained in the test with SentencePieceTrainer.
References, computed in this run:
- the original ALBERT algorithm: `preprocess_text` + `encode_pieces` from TF
  Model Garden's official.nlp.tools.tokenization (forked from google-research
  ALBERT). Model Garden's fork lacks ALBERT's ``/'' -> " step, which is
  applied first here;
- HF transformers' AlbertTokenizer loaded from spiece.model. It departs from
  the original twice: it has no digit-comma re-split, and its StripAccents
  drops all combining marks (Mn, Mc, Me) where ALBERT drops characters with a non-zero
  combining class (they differ on e.g. Devanagari, Thai and Hangul vowel
  signs); and on Hangul its charsmap does not recompose NFKD jamo like the
  reference's SentencePiece normaliser. It must agree on every passage where
  none of these applies.
"""

import unicodedata

import numpy as np
import pytest
import tensorflow as tf

from preprocessors.packing import bert_pack_inputs
from preprocessors.sentencepiece import AlbertSentencepieceTokenizer
from tests.preprocessors import reference_packing

pytestmark = pytest.mark.slow
SEQ_LENGTH = 128


def albert_reference_ids(sp_model_file, passages, lower, count_resplit=False):
    import sentencepiece as spm
    from official.nlp.tools import tokenization
    sp = spm.SentencePieceProcessor(model_file=sp_model_file)
    out, resplit = [], 0
    for text in passages:
        text = text.replace("``", '"').replace("''", '"')
        normalized = tokenization.preprocess_text(text, lower=lower)
        pieces = tokenization.encode_pieces(sp, normalized)
        resplit += pieces != sp.encode_as_pieces(normalized)
        out.append([sp.PieceToId(p) for p in pieces])
    return (out, resplit) if count_resplit else out


def test_larger_model_differs_only_on_equal_score_ties(large_sp_model, passages):
    """With 8000 pieces the re-split happens on real text and matches; the few
    passages that differ are equal-score Viterbi ties ("uuuuuu" as u+uuuuu or
    uuuuu+u), which tensorflow-text's bundled SentencePiece breaks differently
    from the sentencepiece Python package."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=large_sp_model)
    ours = AlbertSentencepieceTokenizer(large_sp_model, True).tokenize(tf.constant(passages)).to_list()
    ref, resplit = albert_reference_ids(large_sp_model, passages, True, count_resplit=True)
    assert resplit > 0
    differs = [i for i, (a, b) in enumerate(zip(ours, ref)) if a != b]
    score = lambda ids: sum(sp.GetScore(i) for i in ids)
    not_ties = [passages[i] for i in differs
                if len(ours[i]) != len(ref[i]) or abs(score(ours[i]) - score(ref[i])) > 1e-4]
    assert not_ties == []
    assert len(differs) < 0.01 * len(passages)
    print(f"8000-piece model: equal on {len(passages) - len(differs)}/{len(passages)}, "
          f"{len(differs)} equal-score ties; re-split on {resplit} passages")


@pytest.mark.parametrize("lower", [True, False])
def test_matches_albert_reference_and_hf(sp_model_dir, passages, lower):
    sp_model_file = str(sp_model_dir / "spiece.model")
    ours = AlbertSentencepieceTokenizer(sp_model_file, lower)
    tokens = ours.tokenize(tf.constant(passages))
    our_ids = tokens.to_list()
    ref_ids = albert_reference_ids(sp_model_file, passages, lower)
    mismatched = [i for i, (a, b) in enumerate(zip(our_ids, ref_ids)) if a != b]
    assert not mismatched, [(passages[i], our_ids[i], ref_ids[i]) for i in mismatched[:3]]

    from transformers import AlbertTokenizer
    hf = AlbertTokenizer.from_pretrained(str(sp_model_dir), do_lower_case=lower)
    hf_ids = hf(passages, add_special_tokens=False)["input_ids"]
    hf_pieces = [hf.convert_ids_to_tokens(ids) for ids in hf_ids]
    has_digit_comma = [any(len(p) > 1 and p[-1] == "," and p[-2].isdigit() for p in pieces)
                       for pieces in hf_pieces]
    strips_differently = [
        any((unicodedata.category(c) in ("Mn", "Mc", "Me")) != (unicodedata.combining(c) != 0)
            for c in unicodedata.normalize("NFKD", text)) for text in passages]
    differs = [i for i, (a, b) in enumerate(zip(our_ids, hf_ids)) if a != b]
    unexplained = [passages[i] for i in differs
                   if not (has_digit_comma[i] or strips_differently[i])]
    # Further departures of HF from the original seen on this corpus: it
    # lower-cases without final sigma, treats \x0b \x0c \x1c-\x1f \x85 as
    # characters, not spaces, and on Hangul its charsmap does not recompose NFKD
    # jamo like SentencePiece's normaliser. Count what remains unexplained.
    def other_departure(t):
        nfkd = unicodedata.normalize("NFKD", t)
        return ((lower and "\u03a3" in t) or any(c in "\x0b\x0c\x1c\x1d\x1e\x1f\x85" for c in t)
                or any("\u1100" <= c <= "\u11ff" for c in nfkd))
    remaining = [t for t in unexplained if not other_departure(t)]
    assert remaining == []
    print(f"lower={lower}: HF AlbertTokenizer equal on {len(passages) - len(differs)}/"
          f"{len(passages)}; the other {len(differs)} differ in an explained way (see docstring)")

    special = ours.special_ids
    packed = bert_pack_inputs([tokens[:-1], tokens[1:]], SEQ_LENGTH, special)
    ref = np.array([
        reference_packing.pack([a, b], SEQ_LENGTH, special["start_of_sequence_id"],
                               special["end_of_segment_id"], special["padding_id"])[0]
        for a, b in zip(ref_ids[:-1], ref_ids[1:])])
    np.testing.assert_array_equal(packed["input_word_ids"].numpy(), ref)
    single = bert_pack_inputs([tokens], SEQ_LENGTH, special)["input_word_ids"].numpy()
    ref_single = np.array([
        reference_packing.pack([a], SEQ_LENGTH, special["start_of_sequence_id"],
                               special["end_of_segment_id"], special["padding_id"])[0]
        for a in ref_ids])
    np.testing.assert_array_equal(single, ref_single)
