"""Where each input character lands in a normalised string, for tokenizer offsets.

The tokenizers normalise text before cutting it into pieces, and the pieces'
offsets point into the normalised text. When the normalisation works character
by character (NFD/NFKD, dropping marks, lower-casing), every input character
becomes its own run of bytes of the normalised text, possibly empty. Laid end to
end over the batch, the runs' ends are sorted, so one search finds the input
character behind any normalised byte.

A run's length is the character's UTF-8 length plus a change read from a step
function over all code points, computed once with the very ops the graph runs.
"""

import sys

import numpy as np
import tensorflow as tf


def utf8_length(code_points):
    """The number of UTF-8 bytes of each code point, int64."""
    code_points = tf.cast(code_points, tf.int64)
    return 1 + sum(tf.cast(code_points >= limit, tf.int64) for limit in (0x80, 0x800, 0x10000))


def byte_change_table(normalize):
    """How `normalize` changes each character's UTF-8 length when it runs on that character alone.

    Returns a step function: (first code point of each interval int32, change in
    bytes int64) numpy arrays. `normalize` maps a string tensor to a string tensor
    and must leave "\n" alone and never move a character across it: lines of 4096
    characters are normalised at once (5x faster than one string per character).

    Args:
      normalize: the tokenizer's per-character normalisation, in TensorFlow ops.

    Example:

        table = byte_change_table(lambda s: tf.strings.lower(s, encoding="utf-8"))
    """
    code_points = np.arange(sys.maxunicode + 1, dtype=np.int32)
    # Surrogates cannot be encoded, and "\n" separates the lines; neither occurs in the runs.
    code_points[0xD800:0xE000] = code_points[0x0A] = 0x20
    with tf.init_scope():
        chars = tf.strings.unicode_encode(code_points.reshape(-1, 4096, 1), "UTF-8")
        lines = normalize(tf.strings.reduce_join(chars, axis=1, separator="\n"))
        normalized = tf.strings.length(tf.strings.split(lines, "\n").flat_values).numpy()
        change = normalized - utf8_length(code_points).numpy()
    starts = np.concatenate([[0], np.flatnonzero(np.diff(change)) + 1])
    return starts.astype(np.int32), change[starts].astype(np.int64)


def normalized_bytes(code_points, table):
    """The UTF-8 length of each character normalised on its own (0 when dropped), int64.

    Args:
      code_points: int32 code points, any shape.
      table: a `byte_change_table`.
    """
    starts, changes = table
    interval = tf.searchsorted(tf.constant(starts), code_points, side="right") - 1
    return utf8_length(code_points) + tf.gather(tf.constant(changes, tf.int64), interval)


def input_chars(run_ends, global_bytes, lowest, highest):
    """The flat index of the input character whose run holds each normalised byte.

    Args:
      run_ends: cumsum of all characters' run lengths, laid end to end, int64.
      global_bytes: byte positions on that same line, int64.
      lowest, highest: the first and last flat character each result is kept within
        (its word or string), should a table ever disagree with the normaliser.
    """
    found = tf.searchsorted(run_ends, global_bytes, side="right", out_type=tf.int64)
    return tf.clip_by_value(found, lowest, highest)
