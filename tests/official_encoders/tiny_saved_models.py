"""Tiny Reusable SavedModels built by hand, for consumer tests that need no other branch.

- `save_hand_built_encoder`: a plain AutoTrackable with `__call__(inputs, training)`,
  `variables`, `trainable_variables` (a strict subset: `frozen_scale` is left out),
  `regularization_losses`, a `.mlm` subobject sharing the encoder variables,
  and a `serving_default` signature. Dropout is active only with training=True.
- `save_tf_keras_model`: a tf_keras (Keras 2) model saved with tf.saved_model.save,
  the way many published TF-Hub models were made.
- `save_string_lookup_module`: string input, a vocabulary asset and a lookup table,
  to check that tables and assets survive `model.export()`.
"""

import numpy as np
import tensorflow as tf

VOCAB = 20
HIDDEN = 8
ENCODER_INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")


def encoder_input_specs():
    return {name: tf.TensorSpec([None, None], tf.int32, name=name) for name in ENCODER_INPUT_NAMES}


def random_encoder_inputs(batch=4, seq=6, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, VOCAB, size=(batch, seq)).astype("int32")
    mask = np.ones((batch, seq), "int32")
    mask[:, seq - 1:] = 0
    return {"input_word_ids": ids, "input_mask": mask,
            "input_type_ids": np.zeros((batch, seq), "int32")}


class _MaskedLM(tf.__internal__.tracking.AutoTrackable):
    def __init__(self, encoder):
        self._encoder = encoder
        self.output_bias = tf.Variable(tf.zeros([VOCAB]), name="mlm/output_bias")
        self.variables = list(encoder.variables) + [self.output_bias]
        self.trainable_variables = list(encoder.trainable_variables) + [self.output_bias]
        self.regularization_losses = list(encoder.regularization_losses)

    @tf.function
    def __call__(self, inputs, training=False):
        encoder_inputs = {k: inputs[k] for k in ENCODER_INPUT_NAMES}
        outputs = dict(self._encoder(encoder_inputs, training=training))
        picked = tf.gather(outputs["sequence_output"], inputs["masked_lm_positions"], batch_dims=1)
        outputs["mlm_logits"] = (
            tf.einsum("bph,vh->bpv", picked, self._encoder.word_embeddings) + self.output_bias)
        return outputs


class _HandBuiltEncoder(tf.__internal__.tracking.AutoTrackable):
    def __init__(self, dropout_rate, l2, seed):
        rng = np.random.default_rng(seed)
        self.dropout_rate = dropout_rate
        self.word_embeddings = tf.Variable(
            rng.normal(size=(VOCAB, HIDDEN)).astype("float32"), name="word_embeddings")
        self.kernel = tf.Variable(
            rng.normal(size=(HIDDEN, HIDDEN)).astype("float32") * 0.3, name="dense/kernel")
        # Published as a variable but not as trainable: consumers must keep it frozen.
        self.frozen_scale = tf.Variable(
            np.full([HIDDEN], 1.5, "float32"), name="frozen_scale")
        self.variables = [self.word_embeddings, self.kernel, self.frozen_scale]
        self.trainable_variables = [self.word_embeddings, self.kernel]
        kernel = self.kernel
        self.regularization_losses = [
            tf.function(lambda: l2 * tf.reduce_sum(tf.square(kernel)), input_signature=[])]

    @tf.function
    def __call__(self, inputs, training=False):
        x = tf.gather(self.word_embeddings, inputs["input_word_ids"]) * self.frozen_scale
        x = tf.tanh(tf.einsum("bsh,hk->bsk", x, self.kernel))
        if training:
            x = tf.nn.dropout(x, rate=self.dropout_rate)
        mask = tf.cast(inputs["input_mask"], tf.float32)[:, :, None]
        pooled = tf.reduce_sum(x * mask, 1) / tf.maximum(tf.reduce_sum(mask, 1), 1.0)
        return {"pooled_output": pooled, "default": pooled,
                "sequence_output": x, "encoder_outputs": [x]}


def save_hand_built_encoder(export_dir, dropout_rate=0.5, l2=0.01, seed=0):
    """Writes the hand-built encoder (with `.mlm`) to `export_dir`; returns the path."""
    encoder = _HandBuiltEncoder(dropout_rate, l2, seed)
    specs = encoder_input_specs()
    for training in (True, False):
        encoder.__call__.get_concrete_function(specs, training)
    mlm = _MaskedLM(encoder)
    mlm_specs = dict(specs, masked_lm_positions=tf.TensorSpec([None, None], tf.int32))
    for training in (True, False):
        mlm.__call__.get_concrete_function(mlm_specs, training)
    encoder.mlm = mlm

    @tf.function(input_signature=[specs])
    def serving_default(inputs):
        outputs = encoder(inputs, training=False)
        return {"pooled_output": outputs["pooled_output"],
                "sequence_output": outputs["sequence_output"]}

    tf.saved_model.save(encoder, str(export_dir),
                        signatures={"serving_default": serving_default})
    return str(export_dir)


def save_tf_keras_model(export_dir, seed=0):
    """A Keras 2 model: Embedding, Dropout, Dense with an L2 kernel regularizer."""
    import tf_keras

    tf_keras.utils.set_random_seed(seed)
    ids = tf_keras.Input(shape=(None,), dtype="int32", name="ids")
    x = tf_keras.layers.Embedding(VOCAB, HIDDEN, name="embed")(ids)
    x = tf_keras.layers.GlobalAveragePooling1D()(x)
    x = tf_keras.layers.Dropout(0.5)(x)
    x = tf_keras.layers.Dense(
        HIDDEN, activation="tanh", name="dense",
        kernel_regularizer=tf_keras.regularizers.l2(0.01))(x)
    model = tf_keras.Model(ids, x)
    tf.saved_model.save(model, str(export_dir))
    return str(export_dir)


class _StringLookup(tf.__internal__.tracking.AutoTrackable):
    def __init__(self, vocab_file):
        self.vocab_file = tf.saved_model.Asset(vocab_file)
        initializer = tf.lookup.TextFileInitializer(
            self.vocab_file, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
            tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER)
        self.table = tf.lookup.StaticHashTable(initializer, default_value=0)
        self.embeddings = tf.Variable(
            np.arange(VOCAB * 2, dtype="float32").reshape(VOCAB, 2) / VOCAB, name="embeddings")
        self.variables = [self.embeddings]
        self.trainable_variables = [self.embeddings]
        self.regularization_losses = []

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, strings):
        return tf.gather(self.embeddings, self.table.lookup(strings))


def save_string_lookup_module(export_dir, words=("[UNK]", "hello", "world")):
    """String -> 2-d embedding through a vocabulary asset; unknown words map to row 0."""
    import pathlib
    import tempfile

    vocab = pathlib.Path(tempfile.mkdtemp()) / "vocab.txt"
    vocab.write_text("\n".join(words) + "\n")
    tf.saved_model.save(_StringLookup(str(vocab)), str(export_dir))
    return str(export_dir)


WORDS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "great", "fine", "bad", "awful",
         "poor", "the", "movie", "was", "plot", "acting", "really", "not", "very", "a")


class _WhitespacePreprocessor(tf.__internal__.tracking.AutoTrackable):
    """The TF-Hub text preprocessor API (.tokenize, .bert_pack_inputs, root call) on whitespace words."""

    def __init__(self, vocab_file):
        self.vocab_file = tf.saved_model.Asset(vocab_file)
        initializer = tf.lookup.TextFileInitializer(
            self.vocab_file, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
            tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER)
        self._table = tf.lookup.StaticHashTable(initializer, default_value=1)
        table = self._table

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def tokenize(strings):
            words = tf.strings.split(tf.strings.lower(strings))
            return tf.cast(tf.ragged.map_flat_values(table.lookup, words), tf.int32)

        @tf.function
        def bert_pack_inputs(segments, seq_length=128):
            cls = tf.fill([segments[0].nrows(), 1], 2)
            sep = tf.fill([segments[0].nrows(), 1], 3)
            pieces, types = [cls], [tf.zeros_like(cls)]
            for index, segment in enumerate(segments):
                budget = (seq_length - 1) // len(segments) - 1
                segment = segment[:, :budget]
                pieces += [segment, sep]
                types += [tf.fill(tf.shape(tf.concat([segment, sep], 1)), index)]
            ids = tf.concat(pieces, 1)
            type_ids = tf.concat(types, 1)
            shape = tf.stack([ids.nrows(), tf.cast(seq_length, tf.int64)])
            word_ids = ids.to_tensor(0, shape=shape)
            return {"input_word_ids": word_ids,
                    "input_mask": tf.cast(word_ids > 0, tf.int32),
                    "input_type_ids": type_ids.to_tensor(0, shape=shape)}

        ragged = tf.RaggedTensorSpec([None, None], tf.int32)
        for count in (1, 2):
            bert_pack_inputs.get_concrete_function(
                [ragged] * count, tf.TensorSpec([], tf.int32, name="seq_length"))
        self.tokenize = tokenize
        self.bert_pack_inputs = bert_pack_inputs

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, strings):
        return self.bert_pack_inputs([self.tokenize(strings)], tf.constant(128))


def save_whitespace_preprocessor(export_dir):
    """A preprocessor SavedModel whose ids fit the hand-built encoder's vocabulary."""
    import pathlib
    import tempfile

    vocab = pathlib.Path(tempfile.mkdtemp()) / "vocab.txt"
    vocab.write_text("\n".join(WORDS) + "\n")
    tf.saved_model.save(_WhitespacePreprocessor(str(vocab)), str(export_dir))
    return str(export_dir)
