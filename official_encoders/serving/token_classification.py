"""Text-in token classification: raw strings -> entity groups with character offsets.

Post-processing follows Hugging Face's `pipeline("token-classification",
aggregation_strategy="simple")`: a softmax per word piece, the most probable label
and its probability for each piece, adjacent pieces grouped while their entity type
stays the same and no `B-` label starts a new one, a group's score the mean of its
pieces' scores, and groups labelled `O` dropped. Each group spans the characters
from its first piece's start to its last piece's end, so `text[start:end]` is an
exact substring of the input.

Texts longer than the encoder's `max_seq_length` are split into consecutive windows
of `max_seq_length - 2` pieces, each run on its own, so no piece is dropped.
"""

import tensorflow as tf

from official_encoders.serving import text_inputs
from official_encoders.serving.sequence_classification import logits_of


def entity_tags(labels):
    """(tag index per label, whether each label begins an entity, each label's group name).

    The grouping rule of the reference: `B-X` and `I-X` have tag `X` and `B-` starts
    a new group; any other label is its own tag and continues a group of that tag.
    The group name is the label after its first "-" (`O` stays `O`).
    """
    tags, tag_index, begins = [], [], []
    for label in labels:
        tag = label[2:] if label.startswith(("B-", "I-")) else label
        if tag not in tags:
            tags.append(tag)
        tag_index.append(tags.index(tag))
        begins.append(label.startswith("B-"))
    names = [label.split("-", 1)[-1] for label in labels]
    return tag_index, begins, names


class TokenClassificationServing(tf.Module):
    """`serving_default(text)` of a token classifier (tagger), entities padded to the batch's most.

    Outputs, E the largest number of entities of any text in the batch:
    `entity_group` [B, E] (names, "" as padding), `start`/`end` [B, E] int32
    code-point offsets into the text, `score` [B, E] float32, `word` [B, E] (the
    text between them) and `num_entities` [B] int32.

    Args:
      model: a Keras task model: encoder inputs -> {"logits": [B, S, C]}.
      packer: a `text_inputs.TextPacker` whose tokenizer has offsets (WordPiece or SentencePiece).
      labels: the C label names, by class index (`O`, `B-PER`, `I-PER`, ...).

    Example:

        serving = TokenClassificationServing(model, packer, ["O", "B-PER", "I-PER"])
        out = serving(tf.constant(["Ada Lovelace wrote it."]))
        out["entity_group"], out["start"], out["end"]   # [[b'PER']], [[0]], [[12]]
    """

    def __init__(self, model, packer, labels, name=None):
        super().__init__(name=name)
        if not hasattr(packer.tokenizer, "tokenize_with_offsets"):
            raise ValueError("Token classification reports character offsets, which need a tokenizer with "
                             f"tokenize_with_offsets; {type(packer.tokenizer).__name__} has none. Use one from "
                             "preprocessors.tokenizer_factory.make_tokenizer (WordPiece or SentencePiece).")
        self.packer = packer
        self.labels = tuple(str(label) for label in labels)
        tag_index, begins, names = entity_tags(self.labels)
        self._tag_index = tf.constant(tag_index, tf.int32)
        self._begins = tf.constant(begins, tf.bool)
        self._names = tf.constant(names)
        self._logits = logits_of(model)
        self.input_names = ("text",)

    def piece_scores(self, ids):
        """Softmax probabilities [tokens, C] of every piece of `ids` [B, (tokens)], through windows."""
        window_ids, _, token_window, token_position = self.packer.windows(ids)
        logits = self._logits(self.packer.pack([window_ids]))
        piece_logits = tf.gather_nd(logits, tf.stack([token_window, token_position], axis=1))
        return tf.nn.softmax(piece_logits, axis=-1)

    def __call__(self, text):
        text = text_inputs.check_strings(text, "text", 1, "[batch] strings")
        ids, starts, ends, text = self.packer.tokenize_with_char_offsets(text)
        probabilities = self.piece_scores(ids)
        label = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        score = tf.reduce_max(probabilities, axis=-1)
        rows = ids.value_rowids()
        tag = tf.gather(self._tag_index, label)
        # A group starts at a text's first piece, at a B- label, or where the tag changes.
        first_in_row = tf.range(tf.size(rows, out_type=tf.int64)) == tf.gather(ids.row_splits, rows)
        previous_tag = tf.concat([[-1], tag[:-1]], axis=0)
        starts_group = first_in_row | tf.gather(self._begins, label) | (tag != previous_tag)
        group = tf.cumsum(tf.cast(starts_group, tf.int32)) - 1
        first_piece = tf.cast(tf.where(starts_group)[:, 0], tf.int32)
        last_piece = tf.math.segment_max(tf.range(tf.size(group)), group)
        name = tf.gather(self._names, tf.gather(label, first_piece))
        group_score = tf.math.segment_mean(score, group)
        group_row = tf.gather(rows, first_piece)
        group_start = tf.gather(starts.flat_values, first_piece)
        group_end = tf.gather(ends.flat_values, last_piece)
        keep = tf.not_equal(name, "O")
        batch = tf.shape(ids.row_splits, out_type=tf.int64)[0] - 1

        def per_text(values, padding):
            kept = tf.RaggedTensor.from_value_rowids(tf.boolean_mask(values, keep),
                                                     tf.boolean_mask(group_row, keep), nrows=batch)
            return kept.to_tensor(default_value=padding), kept.row_lengths()

        entity_group, num_entities = per_text(name, "")
        start, _ = per_text(group_start, 0)
        end, _ = per_text(group_end, 0)
        word = tf.strings.substr(tf.broadcast_to(tf.expand_dims(text, 1), tf.shape(start)), start, end - start, unit="UTF8_CHAR")
        return {"entity_group": entity_group, "start": start, "end": end,
                "score": per_text(group_score, 0.0)[0], "word": word,
                "num_entities": tf.cast(num_entities, tf.int32)}

    def serving_function(self):
        """A tf.function for the `serving_default` signature."""
        return tf.function(lambda text: self(text), input_signature=[text_inputs.string_spec("text")])
