"""Tiny sentence-transformers directories written by the real sentence-transformers package.

A random tiny BertModel (transformers, the shared tiny sizes) with its WordPiece
vocabulary, wrapped as `SentenceTransformer(modules=[Transformer, Pooling(...)[, Normalize()]])`
and saved with `save()`, so modules.json and the module configs are the library's own.
"""

import pathlib
import shutil

from tests.common.tiny_configs import tiny_hf_config
from tests.common.tiny_vocab import write_vocab

MAX_SEQ_LENGTH = 64


def write_tiny_bert(directory, seed=0):
    """A random tiny BertModel with its vocab.txt and tokenizer files, saved by transformers."""
    import torch
    import transformers

    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab = write_vocab(directory)
    torch.manual_seed(seed)
    config = transformers.BertConfig(**tiny_hf_config(max_position_embeddings=MAX_SEQ_LENGTH))
    transformers.BertModel(config).eval().save_pretrained(directory)
    transformers.BertTokenizer(str(vocab), do_lower_case=True).save_pretrained(directory)
    return directory


def sentence_transformer(hf_dir, modes=("mean",), normalize=False, include_prompt=True):
    """A SentenceTransformer over the model in `hf_dir` with this pooling (not saved)."""
    from sentence_transformers import SentenceTransformer, models

    transformer = models.Transformer(str(hf_dir), max_seq_length=MAX_SEQ_LENGTH)
    pooling = models.Pooling(transformer.get_embedding_dimension(), pooling_mode=tuple(modes),
                             include_prompt=include_prompt)
    modules = [transformer, pooling] + ([models.Normalize()] if normalize else [])
    return SentenceTransformer(modules=modules, device="cpu")


def write_sentence_transformers_dir(directory, modes=("mean",), normalize=False, include_prompt=True, seed=0):
    """Saves a tiny SentenceTransformer with this pooling into `directory`; returns (directory, model)."""
    directory = pathlib.Path(directory)
    hf_dir = write_tiny_bert(directory.parent / f"{directory.name}_hf", seed)
    model = sentence_transformer(hf_dir, modes, normalize, include_prompt)
    model.save(str(directory))
    # sentence-transformers 6 saves only tokenizer.json; older versions (and all-MiniLM-L6-v2) ship vocab.txt.
    shutil.copyfile(hf_dir / "vocab.txt", directory / "vocab.txt")
    return directory, model
