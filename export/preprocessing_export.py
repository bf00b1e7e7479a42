"""Writes a preprocessors.PreprocessingModule as its SavedModel (file writing lives in export/)."""

import os

import tensorflow as tf

from official_encoders.fileio.atomic import atomic_directory
from preprocessors.preprocessing_module import PreprocessingModule, without_assert_ops


def save_preprocessing_model(module, export_dir):
    """Writes `module` as a SavedModel at `export_dir`, atomically; returns the path as a str.

    An existing non-empty `export_dir` is never overwritten; a failure leaves nothing behind.
    """
    if not isinstance(module, PreprocessingModule):
        raise TypeError(f"save_preprocessing_model takes a PreprocessingModule, got {type(module).__name__}.")
    with atomic_directory(export_dir, prefix=".preprocessing-") as staging:
        with without_assert_ops():
            tf.saved_model.save(module, str(staging), signatures={"serving_default": module.serving_function()})
    return os.path.abspath(export_dir)
