"""Loads what `encode` needs from a model handle: the encoder call, its tokenizer and its limits.

A handle is one of:

- a SavedModel directory, an http(s) URL of one, or a tensorflow_hub handle
  (resolved and integrity-checked by `official_encoders.hub.resolver.resolve`);
- a checkpoint directory `from_pretrained` reads (Hugging Face,
  sentence-transformers, TF1, ours), or a catalog name found in its cache roots
  (`official_encoders.checkpoints.from_pretrained.find_pretrained`).

The preprocessor is built in memory from the encoder's own vocabulary (the
SavedModel's `vocab_file` or `sp_model_file` asset and `do_lower_case`
variable, or the checkpoint's vocabulary) with the one tokenizer factory. So
any encoder works, including ones published without a `_preprocess`
companion, and the tokens are the ones the export verified against the
reference tokenizer.
"""

import dataclasses
import os
import pathlib
import urllib.parse
from typing import Any, Optional

import tensorflow as tf

from official_encoders.hub.manifest import MANIFEST_NAME, read_manifest
from preprocessors.packing import INPUT_KEYS
from preprocessors.tokenizer_factory import make_tokenizer

# The cap of dynamic length when neither the model nor the user gives one.
DEFAULT_MAX_SEQ_LENGTH = 512


@dataclasses.dataclass
class LoadedEncoder:
    """An encoder ready for `encode`.

    call: input dict of int32 [B, S] -> output dict (pooled_output, sequence_output, ...).
    tokenizer: a BertWordpieceTokenizer or AlbertSentencepieceTokenizer.
    max_position_embeddings: the encoder's limit, None when unknown.
    output_names: the keys `call` returns.
    handle: what the user passed, for messages.
    """

    call: Any
    tokenizer: Any
    max_position_embeddings: Optional[int]
    output_names: frozenset
    handle: str
    keep_alive: Any = None  # the loaded SavedModel or Keras model behind `call`


def _is_url(handle):
    return "://" in handle and urllib.parse.urlsplit(handle).scheme not in ("", "file")


def load_encoder(model):
    """A LoadedEncoder for a handle, path or catalog name (see the module docstring)."""
    if isinstance(model, LoadedEncoder):
        return model
    handle = os.fspath(model)
    if _is_url(handle) or (pathlib.Path(handle) / "saved_model.pb").is_file():
        return _load_saved_model(handle)
    from official_encoders.checkpoints.from_pretrained import find_pretrained

    directory = find_pretrained(handle)  # raises FileNotFoundError saying where it looked
    if (directory / "saved_model.pb").is_file():
        return _load_saved_model(str(directory))
    return _load_checkpoint(handle, directory)


def _load_saved_model(handle):
    from official_encoders.hub.resolver import resolve

    path = resolve(handle)
    loaded = tf.saved_model.load(path)
    vocab_file = _asset_path(loaded, "vocab_file")
    sp_model_file = _asset_path(loaded, "sp_model_file")
    manifest = read_manifest(path) if (pathlib.Path(path) / MANIFEST_NAME).is_file() else {}
    if not (vocab_file or sp_model_file):
        raise ValueError(
            f"{handle} has no vocab_file or sp_model_file asset, so its tokenizer is unknown; "
            "export it with official_encoders' export (python -m export), which adds the asset.")
    do_lower_case = None
    if hasattr(loaded, "do_lower_case"):
        do_lower_case = bool(loaded.do_lower_case.numpy())
    elif isinstance(manifest.get("tokenizer"), dict):
        do_lower_case = manifest["tokenizer"].get("do_lower_case")
    config = manifest.get("config") or {}

    def call(inputs):
        return loaded(inputs, training=False)

    return _finish(call, make_tokenizer(vocab_file, sp_model_file, do_lower_case),
                   config.get("max_position_embeddings"), handle, loaded)


def _load_checkpoint(handle, directory):
    from official_encoders.checkpoints.sources import load_directory

    result = load_directory(directory)
    encoder = result.encoder
    if not (result.vocab_file or result.sp_model_file):
        raise ValueError(f"{directory} has no vocabulary (vocab.txt or a SentencePiece model); "
                         "add it next to the weights.")

    def call(inputs):
        return encoder(inputs, training=False)

    return _finish(call, make_tokenizer(result.vocab_file, result.sp_model_file, result.do_lower_case),
                   result.config.max_position_embeddings, handle, encoder)


def _asset_path(loaded, name):
    asset = getattr(loaded, name, None)
    if asset is None:
        return None
    path = asset.asset_path
    return path.numpy().decode("utf-8") if hasattr(path, "numpy") else os.fspath(path)


def _finish(call, tokenizer, max_position_embeddings, handle, keep_alive):
    ids = tf.constant([[tokenizer.special_ids["start_of_sequence_id"],
                        tokenizer.special_ids["end_of_segment_id"]]], tf.int32)
    probe = dict(zip(INPUT_KEYS, (ids, tf.ones_like(ids), tf.zeros_like(ids))))
    output_names = frozenset(call(probe))
    return LoadedEncoder(call=call, tokenizer=tokenizer,
                         max_position_embeddings=int(max_position_embeddings) if max_position_embeddings else None,
                         output_names=output_names, handle=handle, keep_alive=keep_alive)
