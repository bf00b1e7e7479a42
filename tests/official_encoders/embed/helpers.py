"""Shared by the embed tests: a shuffled mix of texts (bad ones included) and a plain per-text reference."""

import functools
import random

import numpy as np

WORDS = "the quick brown fox jumps over lazy dog hello world a man is playing guitar on stage".split()


def mixed_texts(seed=0, count=40):
    """(text as given to encode, the same text as UTF-8 bytes for the reference), shuffled.

    Lengths from 0 to over a megabyte, plus empty strings, invalid UTF-8 bytes,
    a str with an escaped invalid byte and non-ASCII text.
    """
    rng = random.Random(seed)
    pairs = []
    for i in range(count):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.choice([0, 1, 3, 8, 20, 45, 90])))
        pairs.append((text, text.encode("utf-8")))
    pairs += [("", b""), ("", b""), (b"\xff\xfe the dog \xc3", b"\xff\xfe the dog \xc3"),
              ("caf\udce9 hello", b"caf\xe9 hello"), ("Größe ß 你好 hello", "Größe ß 你好 hello".encode()),
              ("the quick brown fox " * 52429, ("the quick brown fox " * 52429).encode())]  # > 1 MB
    rng.shuffle(pairs)
    return pairs


def per_text_reference(encoder_dir, preprocessor_dir, texts, seq_length, pooling="mean"):
    """Each text alone through the published preprocessor (fixed seq_length) and encoder, pooled in numpy."""
    import tensorflow as tf

    encoder, preprocess = _load(str(encoder_dir)), _load(str(preprocessor_dir))
    rows = []
    for text in texts:
        inputs = preprocess(tf.constant([text]), tf.constant(seq_length))
        outputs = encoder(inputs, training=False)
        sequence = outputs["sequence_output"].numpy()[0]
        mask = inputs["input_mask"].numpy()[0].astype(bool)
        if pooling == "mean":
            rows.append(sequence[mask].mean(axis=0))
        elif pooling == "cls":
            rows.append(sequence[0])
        else:
            rows.append(outputs["pooled_output"].numpy()[0])
    return np.stack(rows).astype(np.float32)


def token_counts(preprocessor_dir, texts):
    """Tokens per text (no [CLS]/[SEP]) by the published preprocessor's .tokenize."""
    import tensorflow as tf

    preprocess = _load(str(preprocessor_dir))
    return [int(preprocess.tokenize(tf.constant([t])).flat_values.shape[0]) for t in texts]


@functools.lru_cache(maxsize=4)
def _load(saved_model_dir):
    import tensorflow as tf

    return tf.saved_model.load(saved_model_dir)
