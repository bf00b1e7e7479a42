"""Text-in sequence classification: raw strings -> class probabilities, label names, scores.

The in-graph serving half of a sequence-classification export (export/task_export.py
writes it): tokenization, packing and the softmax all run in the TensorFlow graph,
so TF Serving with the tensorflow-text ops serves it as it is.
"""

import tensorflow as tf

from official_encoders.serving import text_inputs


def logits_of(model):
    """The task model's logits at inference, float32 (mixed-precision models compute in 16 bits)."""
    return lambda inputs: tf.cast(model(inputs, training=False)["logits"], tf.float32)


class SequenceClassificationServing(tf.Module):
    """`serving_default(text[, text_pair])` of a sequence classifier.

    Outputs, for `C` labels: `probabilities` [B, C] (softmax), `label` [B] (the most
    probable label's name) and `score` [B] (its probability). A model with one output
    is a regressor: its only output is `score` [B], the predicted value.
    Inputs longer than `max_seq_length` are truncated (round robin over a pair).

    Args:
      model: a Keras task model: encoder inputs -> {"logits": [B, C]}.
      packer: a `text_inputs.TextPacker` for the model's vocabulary.
      labels: the C label names, by class index (one name for a regressor).
      text_pairs: True to take `text` and `text_pair` (packed as two segments).
      input_names: the signature's input names, default ("text",) or ("text", "text_pair").

    Example:

        serving = SequenceClassificationServing(model, packer, ["negative", "positive"])
        serving(tf.constant(["What a lovely day."]))["label"]   # [b'positive']
    """

    def __init__(self, model, packer, labels, text_pairs=False, input_names=None, name=None):
        super().__init__(name=name)
        if text_pairs and packer.type_vocab_size < 2:
            raise ValueError(f"text_pairs=True (--text_pairs) needs an encoder with segment types, but its "
                             f"type_vocab_size is {packer.type_vocab_size}; export it for single texts.")
        self.packer = packer
        self.labels = tuple(str(label) for label in labels)
        self.text_pairs = bool(text_pairs)
        self.input_names = tuple(input_names or (("text", "text_pair") if text_pairs else ("text",)))
        if len(self.input_names) != 1 + self.text_pairs:
            raise ValueError(f"input_names {self.input_names} must name {1 + self.text_pairs} input(s).")
        self._logits = logits_of(model)  # a closure: the Keras model is not a tracked dependency

    @property
    def regression(self):
        return len(self.labels) == 1

    def __call__(self, text, text_pair=None):
        first = self.input_names[0]
        text = text_inputs.check_strings(text, first, 1, "[batch] strings")
        segments = [self.packer.tokenize(text)]
        if self.text_pairs:
            second = self.input_names[1]
            if text_pair is None:
                raise ValueError(f"This classifier takes text pairs: pass `{second}` too.")
            text_pair = text_inputs.check_strings(text_pair, second, 1, "[batch] strings")
            segments.append(self.packer.tokenize(text_inputs.check_same_batch(text, first, text_pair, second)))
        elif text_pair is not None:
            raise ValueError("This classifier was exported for single texts: drop the second text "
                             "(export with --text_pairs for pairs).")
        logits = self._logits(self.packer.pack(segments))
        if self.regression:
            return {"score": logits[:, 0]}
        probabilities = tf.nn.softmax(logits, axis=-1)
        best = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"probabilities": probabilities,
                "label": tf.gather(tf.constant(self.labels), best),
                "score": tf.reduce_max(probabilities, axis=-1)}

    def serving_function(self):
        """A tf.function for the `serving_default` signature (inputs named as `input_names`)."""
        specs = [text_inputs.string_spec(name) for name in self.input_names]
        if self.text_pairs:
            return tf.function(lambda text, text_pair: self(text, text_pair), input_signature=specs)
        return tf.function(lambda text: self(text), input_signature=specs)
