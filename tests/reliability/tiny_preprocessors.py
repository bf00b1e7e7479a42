"""Tiny WordPiece and SentencePiece preprocessing modules for fuzzing, and the packing invariants.

Shared by the hypothesis test and the atheris driver (fuzz_preprocessors.py).
"""

import io
import pathlib
import string

import numpy as np
import tensorflow as tf

from preprocessors.preprocessing_module import PreprocessingModule
from preprocessors.sentencepiece import AlbertSentencepieceTokenizer
from preprocessors.wordpiece import BertWordpieceTokenizer

SEQ_LENGTH = 16
_WORDS = ["the", "hello", "world", "un", "##aff", "##able", "straße", "café", "naïve", "中", "文", "，",
          "σας", "12", "##3", ",", ".", "!", "'", "[", "]", "##s", "##ing", "a", "##a"]
_CORPUS = ["The year 1998, was great. Straße café naïve ``quoted'' text",
           "Привет мир, 2020, 3,4 числа", "中文字，日本語。", "hello world 12, 13, 100,000 \t tabs"] * 40


def write_wordpiece_vocab(directory):
    letters = list(string.ascii_lowercase + string.digits)
    tokens = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + letters + ["##" + c for c in letters] + _WORDS)
    path = pathlib.Path(directory) / "vocab.txt"
    path.write_text("\n".join(dict.fromkeys(tokens)) + "\n", encoding="utf-8")
    return str(path)


def write_sentencepiece_model(directory):
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_CORPUS), model_writer=model, vocab_size=100, model_type="unigram",
        pad_id=0, unk_id=1, bos_id=-1, eos_id=-1, control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        character_coverage=0.9995, hard_vocab_limit=False, minloglevel=2, num_threads=1)
    path = pathlib.Path(directory) / "spiece.model"
    path.write_bytes(model.getvalue())
    return str(path)


def build_modules(directory):
    """{"wordpiece": module, "sentencepiece": module}, both packing to SEQ_LENGTH."""
    wordpiece = BertWordpieceTokenizer(write_wordpiece_vocab(directory), do_lower_case=True)
    sentencepiece = AlbertSentencepieceTokenizer(write_sentencepiece_model(directory), do_lower_case=True)
    return {"wordpiece": PreprocessingModule(wordpiece, seq_length=SEQ_LENGTH),
            "sentencepiece": PreprocessingModule(sentencepiece, seq_length=SEQ_LENGTH)}


def check_packed(outputs, module, batch_size, num_segments, seq_length=SEQ_LENGTH):
    """Raises AssertionError unless the packed inputs keep every packing invariant."""
    special = {k: int(v) for k, v in module.tokenize.get_special_tokens_dict().items()}
    ids, mask, types = (np.asarray(outputs[k]) for k in ("input_word_ids", "input_mask", "input_type_ids"))
    assert ids.shape == mask.shape == types.shape == (batch_size, seq_length), (ids.shape, mask.shape, types.shape)
    assert ids.dtype == mask.dtype == types.dtype == np.int32
    assert ((ids >= 0) & (ids < special["vocab_size"])).all(), "id outside the vocabulary"
    np.testing.assert_array_equal(mask, (ids != special["padding_id"]).astype(np.int32), "mask != (ids != pad)")
    assert (np.diff(mask, axis=1) <= 0).all(), "mask is not ones then zeros"
    cls = (ids == special["start_of_sequence_id"]).sum(axis=1)
    assert (cls == 1).all() and (ids[:, 0] == special["start_of_sequence_id"]).all(), "not exactly one [CLS] first"
    # Packing keeps a [SEP] for every segment, even one truncated to nothing.
    seps = (ids == special["end_of_segment_id"]).sum(axis=1)
    assert (seps == num_segments).all(), f"[SEP] counts {seps.tolist()} for {num_segments} segment(s)"
    assert ((types >= 0) & (types < num_segments) & ((types == 0) | (mask == 1))).all(), "bad type ids"


def run_and_check(module, texts, num_segments=1):
    """Packs `texts` (a list of bytes) through `module`; 2 segments packs the texts with their reverse."""
    strings = tf.constant(texts, tf.string)
    if num_segments == 1:
        outputs = module(strings)
    else:
        first = module.tokenize(strings)
        second = module.tokenize(tf.constant(texts[::-1], tf.string))
        outputs = module.bert_pack_inputs([first, second], seq_length=tf.constant(SEQ_LENGTH))
    check_packed(outputs, module, len(texts), num_segments)
    return outputs
