"""Small Keras task models for the serving tests, written against the task-model call contract.

encoder inputs -> {"logits": ...}, with `.encoder`: a classifier over `pooled_output`
([B, C]), a tagger over `sequence_output` ([B, S, C]) and a multiple-choice scorer
([B, K, S] inputs -> [B, K]). `from_hf_directory` fills one from a Hugging Face
`BertFor...` directory: the encoder through our importer, the classifier from the
safetensors file.
"""

import keras
import numpy as np
import tensorflow as tf

from official_encoders import checkpoints


class SequenceClassifier(keras.Model):
    def __init__(self, encoder, num_labels, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.classifier = keras.layers.Dense(num_labels, name="classifier")

    def call(self, inputs, training=False):
        return {"logits": self.classifier(self.encoder(inputs, training=training)["pooled_output"])}


class TokenClassifier(keras.Model):
    def __init__(self, encoder, num_labels, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.classifier = keras.layers.Dense(num_labels, name="classifier")

    def call(self, inputs, training=False):
        return {"logits": self.classifier(self.encoder(inputs, training=training)["sequence_output"])}


class MultipleChoiceScorer(keras.Model):
    def __init__(self, encoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.classifier = keras.layers.Dense(1, name="classifier")

    def call(self, inputs, training=False):
        shape = tf.shape(inputs["input_word_ids"])
        flat = {k: tf.reshape(v, [-1, shape[2]]) for k, v in inputs.items()}
        pooled = self.encoder(flat, training=training)["pooled_output"]
        return {"logits": tf.reshape(self.classifier(pooled), shape[:2])}


def built(model, rank=2):
    """`model` after one call, so its variables exist."""
    shape = [1, 2, 4] if rank == 3 else [1, 4]
    model({k: tf.ones(shape, tf.int32) for k in ("input_word_ids", "input_mask", "input_type_ids")})
    return model


def from_hf_directory(directory, model_class, num_labels):
    """Our encoder from `directory` (our HF importer) plus the HF classifier's weights."""
    from safetensors.numpy import load_file

    # BertForTokenClassification has no pooler: that layer keeps its initial values, unused.
    missing = ("pooler_transform/*",) if model_class is TokenClassifier else ()
    encoder = checkpoints.load_directory(str(directory), allow_missing=missing).encoder
    model = built(model_class(encoder, num_labels) if model_class is not MultipleChoiceScorer
                  else model_class(encoder), rank=3 if model_class is MultipleChoiceScorer else 2)
    tensors = load_file(str(directory / "model.safetensors"))
    model.classifier.kernel.assign(np.transpose(tensors["classifier.weight"]))
    model.classifier.bias.assign(tensors["classifier.bias"])
    return model
