"""The one place that opens TF checkpoints (tensor bundles) for the importers.

A bundle is `<prefix>.index` (an sstable of tensor entries with CRC32C
checksums) and `<prefix>.data-NNNNN-of-NNNNN` shards. TensorFlow's reader
finds truncation and flipped bytes, but says so in terms of sstables and
shards (or a bare "Read less bytes than requested"); this wrapper re-raises
each failure as CorruptWeightsFile naming the file and the tensor.
"""

import glob
import os

import tensorflow as tf

from official_encoders.checkpoints.report import CorruptWeightsFile


def data_files(prefix):
    """The .data shards of the checkpoint at `prefix`, sorted."""
    return sorted(glob.glob(glob.escape(prefix) + ".data-*"))


class CheckpointReader:
    """Shapes and tensors of one checkpoint; every read failure names the file and the tensor."""

    def __init__(self, prefix, what="TF checkpoint"):
        self.prefix = os.fspath(prefix)
        self.what = what
        try:
            self._reader = tf.train.load_checkpoint(self.prefix)
            self._shapes = self._reader.get_variable_to_shape_map()
        except Exception as e:  # tf.errors.OpError, or IndexError/ValueError from the Python wrapper
            raise CorruptWeightsFile(
                f"{what}: {self.prefix}.index could not be read ({type(e).__name__}: {_first_line(e)}); the "
                f"index file is truncated or corrupt") from e

    def get_variable_to_shape_map(self):
        return dict(self._shapes)

    def get_tensor(self, name):
        try:
            return self._reader.get_tensor(name)
        except Exception as e:
            shards = ", ".join(data_files(self.prefix)) or f"{self.prefix}.data-* (none found)"
            raise CorruptWeightsFile(
                f"{self.what}: tensor {name!r} could not be read from {shards} ({type(e).__name__}: "
                f"{_first_line(e)}); the data file is truncated or corrupt (its checksums did not match)") from e


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else "no message"
