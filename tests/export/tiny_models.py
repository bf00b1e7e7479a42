"""Tiny real encoders (vocab 100, 2 layers, hidden 16) and their vocabularies, for export tests."""

import pathlib

import numpy as np

from tests.common.tiny_configs import tiny_config as shared_tiny_config
from tests.common.tiny_vocab import SPECIALS, WORDS, write_vocab  # noqa: F401  (tests import them from here)


def tiny_config(family, **changes):
    """The shared tiny config, with room for the preprocessors' 64-token sequences."""
    return shared_tiny_config(family, **dict(dict(max_position_embeddings=64), **changes))


def write_sp_model(directory, size=100):
    """A SentencePiece unigram model with ALBERT-style specials, trained on ASCII lines of the test corpus."""
    import sentencepiece as spm

    corpus = pathlib.Path(__file__).resolve().parents[1] / "data" / "multilingual_passages.txt"
    text = corpus.read_text(encoding="utf-8", errors="ignore").splitlines()
    lines = [line.lower() for line in text if line.isascii() and line.strip()][:2000]
    prefix = pathlib.Path(directory) / "sp"
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_prefix=str(prefix), vocab_size=size, model_type="unigram",
        pad_id=0, unk_id=1, bos_id=-1, eos_id=-1, user_defined_symbols=["[CLS]", "[SEP]", "[MASK]"],
        hard_vocab_limit=True, character_coverage=0.995, minloglevel=2)
    return prefix.with_suffix(".model")


def tiny_result(family, head, vocab_file=None, sp_model_file=None, do_lower_case=True, **changes):
    """An official_encoders.checkpoints.ImportResult around a randomly initialised tiny encoder."""
    from official_encoders.checkpoints import ImportReport, ImportResult
    from official_encoders import EncoderWithMaskedLM, EncoderWithRtd, build_encoder

    config = tiny_config(family, **changes)
    encoder = build_encoder(config)
    model = {"mlm": EncoderWithMaskedLM, "rtd": EncoderWithRtd, None: lambda e: e}[head](encoder)
    ids = np.array([[2, 7, 8, 3, 0]], np.int32)
    inputs = {"input_word_ids": ids, "input_mask": (ids > 0).astype(np.int32), "input_type_ids": 0 * ids}
    if head == "mlm":
        inputs["masked_lm_positions"] = np.array([[1]], np.int32)
    model(inputs)
    return ImportResult(config=config, model=model, encoder=encoder, report=ImportReport(),
                        vocab_file=str(vocab_file) if vocab_file else None,
                        sp_model_file=str(sp_model_file) if sp_model_file else None, do_lower_case=do_lower_case)
