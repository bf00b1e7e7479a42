"""Our own exports as native Keras encoders: the MANIFEST.json config, the SavedModel's weights.

A SavedModel that `python -m export` published carries its EncoderConfig in
MANIFEST.json. From it we can rebuild the very Keras encoder and copy the
SavedModel's variables in, so a hub handle of ours fine-tunes as the same Keras
model a checkpoint gives (every task head works, and the result can be saved in our
tf2 format). Foreign SavedModels have no such config; they are used through `HubLayer`.
"""

import dataclasses
import os
from typing import Any, Optional

from official_encoders.hub.manifest import MANIFEST_NAME, read_manifest

# Artifacts whose root is a task model: their encoder's variables are those of `root.encoder`.
_TASK_ARTIFACTS = ("task", "question_answering")


@dataclasses.dataclass
class NativeEncoder:
    """An encoder rebuilt from one of our exports, with the vocabulary the export carries."""

    encoder: Any
    config: Any
    manifest: dict
    vocab_file: Optional[str] = None
    sp_model_file: Optional[str] = None
    do_lower_case: Optional[bool] = None


def export_config(directory):
    """The EncoderConfig recorded in `directory`'s MANIFEST.json, or None for a foreign SavedModel."""
    from official_encoders.models.configs import EncoderConfig

    if not os.path.isfile(os.path.join(directory, MANIFEST_NAME)):
        return None
    config = read_manifest(directory).get("config")
    return EncoderConfig.from_dict(config) if isinstance(config, dict) else None


def restore_keras_model(keras_model, loaded):
    """Copies the variables of a reloaded export (e.g. after fine-tuning) into `keras_model`.

    `keras_model` must be built from the same config as the exported model: the
    SavedModel's `variables` list is in the order of the Keras model's variables.

    Args:
      keras_model: a built Keras model (an encoder from `build_encoder(config)`).
      loaded: the `tf.saved_model.load` object (or the subobject) holding `variables`.

    Example:

        encoder = build_encoder(EncoderConfig.from_dict(read_manifest(path)["config"]))
        restore_keras_model(encoder, tf.saved_model.load(path))
    """
    if len(loaded.variables) != len(keras_model.variables):
        raise ValueError(f"The SavedModel has {len(loaded.variables)} variables, the Keras model "
                         f"{len(keras_model.variables)}: build it from the export's MANIFEST.json config.")
    for target, source in zip(keras_model.variables, loaded.variables):
        if tuple(target.shape) != tuple(source.shape):
            raise ValueError(f"{target.path}: shape {tuple(target.shape)} but the SavedModel's variable "
                             f"{source.name} has {tuple(source.shape)}.")
        target.assign(source)
    return keras_model


def load_native_encoder(handle):
    """Our Keras encoder with the weights of the export at `handle`, or None if it is not ours.

    Args:
      handle: a SavedModel directory, an http(s) handle or anything `resolver.resolve` takes;
        encoder exports (with or without `.mlm`/`.rtd`) and task exports (their `.encoder`).

    Returns:
      A `NativeEncoder`, or None when the SavedModel has no MANIFEST.json config (a foreign
      model: use `HubLayer`).

    Example:

        native = load_native_encoder("hub/local/all_minilm_l6_v2/1")
        native.encoder(inputs)["pooled_output"]
    """
    import tensorflow as tf

    from official_encoders.hub import resolver
    from official_encoders.models import build_encoder
    from preprocessors.packing import INPUT_KEYS

    directory = resolver.resolve(handle)
    config = export_config(directory)
    if config is None:
        return None
    manifest = read_manifest(directory)
    loaded = tf.saved_model.load(directory)
    source = loaded.encoder if manifest.get("artifact") in _TASK_ARTIFACTS else loaded
    encoder = build_encoder(config)
    encoder({name: tf.zeros([1, 2], tf.int32) for name in INPUT_KEYS})
    restore_keras_model(encoder, source)
    return NativeEncoder(encoder, config, manifest, *saved_model_vocabulary(loaded))


def saved_model_vocabulary(loaded):
    """(vocab_file, sp_model_file, do_lower_case) of a loaded SavedModel's vocabulary assets (the
    TF-Hub text convention), None for what it does not have."""
    if hasattr(loaded, "vocab_file"):
        lower = bool(loaded.do_lower_case.numpy()) if hasattr(loaded, "do_lower_case") else None
        return loaded.vocab_file.asset_path.numpy().decode(), None, lower
    if hasattr(loaded, "sp_model_file"):
        return None, loaded.sp_model_file.asset_path.numpy().decode(), None
    return None, None, None
