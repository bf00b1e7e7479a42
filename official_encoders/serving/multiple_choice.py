"""Text-in multiple choice: a prompt and K candidate answers -> which one fits.

Each (prompt, choice) pair is packed as two segments, as Hugging Face's
`BertForMultipleChoice` expects, and the task model scores all K of an example
at once ([B, K, S] in, [B, K] logits out).
"""

import tensorflow as tf

from official_encoders.serving import text_inputs
from official_encoders.serving.sequence_classification import logits_of


def pack_choices(packer, prompt, choices):
    """Encoder inputs [B, K, S] of the pairs (prompt[b], choices[b, k]), S the batch's longest.

    The one packing of multiple-choice pairs: the serving graph and fine-tuning's
    training and evaluation all call it, so an exported model sees what it was trained on.

    Args:
      packer: a `text_inputs.TextPacker` (anything with `.tokenize` and `.pack`).
      prompt: [B] strings, the first segment of each of the example's K pairs.
      choices: [B, K] strings, the second segments.

    Example:

        inputs = pack_choices(packer, tf.constant(["The sky is"]), tf.constant([["blue", "loud"]]))
        inputs["input_word_ids"].shape   # [1, 2, 8]
    """
    shape = tf.shape(choices, out_type=tf.int32)
    prompts = tf.reshape(tf.repeat(prompt[:, tf.newaxis], shape[1], axis=1), [-1])
    inputs = packer.pack([packer.tokenize(prompts), packer.tokenize(tf.reshape(choices, [-1]))])
    width = tf.shape(inputs["input_word_ids"])[1]
    return {k: tf.reshape(v, [shape[0], shape[1], width]) for k, v in inputs.items()}


class MultipleChoiceServing(tf.Module):
    """`serving_default(prompt, choices)` of a multiple-choice model.

    Inputs: `prompt` [B] strings and `choices` [B, K] strings. Outputs:
    `probabilities` [B, K] (softmax over each example's choices) and `choice` [B]
    int32, the index of the most probable choice. Pairs longer than
    `max_seq_length` are truncated round robin.

    Args:
      model: a Keras task model: encoder inputs [B, K, S] -> {"logits": [B, K]}.
      packer: a `text_inputs.TextPacker` for the model's vocabulary.

    Example:

        serving = MultipleChoiceServing(model, packer)
        serving(tf.constant(["The sky is"]), tf.constant([["blue", "loud"]]))["choice"]   # [0]
    """

    def __init__(self, model, packer, name=None):
        super().__init__(name=name)
        self.packer = packer
        self._logits = logits_of(model)
        self.input_names = ("prompt", "choices")

    def __call__(self, prompt, choices):
        prompt = text_inputs.check_strings(prompt, "prompt", 1, "[batch] strings")
        choices = text_inputs.check_strings(choices, "choices", 2, "[batch, num_choices] strings")
        choices = text_inputs.check_same_batch(prompt, "prompt", choices, "choices")
        logits = self._logits(pack_choices(self.packer, prompt, choices))
        probabilities = tf.nn.softmax(logits, axis=-1)
        return {"probabilities": probabilities,
                "choice": tf.argmax(probabilities, axis=-1, output_type=tf.int32)}

    def serving_function(self):
        """A tf.function for the `serving_default` signature."""
        return tf.function(lambda prompt, choices: self(prompt, choices),
                           input_signature=[text_inputs.string_spec("prompt"),
                                            text_inputs.string_spec("choices")])
