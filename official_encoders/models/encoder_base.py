"""The Transformer encoder shared by BERT, ALBERT and ELECTRA (each family subclasses it)."""

from typing import Mapping

import keras
import tensorflow as tf

from official_encoders.models.configs import EncoderConfig
from official_encoders.layers.attention import additive_attention_mask
from official_encoders.layers.dense import Dense
from official_encoders.layers.embeddings import PositionEmbedding, TokenEmbedding
from official_encoders.layers.layer_norm import float32_layer_norm
from official_encoders.layers.transformer import TransformerBlock
from preprocessors.packing import INPUT_KEYS

EMPTY_SEQUENCE = "input sequence length must be at least 1 (the [CLS] token the pooler reads)"


def unpack_inputs(inputs):
    """The three integer [B, S] encoder inputs from a dict, as int32 or int64 (narrower and unsigned
    ints are widened to int64 without changing their values, so the value checks see every id before
    the cast to int32 could wrap it into range); TypeError/KeyError/ValueError naming the input for
    anything that can be seen without running the graph."""
    if not isinstance(inputs, Mapping):
        raise TypeError(f"encoder inputs must be a dict with keys {list(INPUT_KEYS)}, got {type(inputs).__name__}")
    missing = [k for k in INPUT_KEYS if k not in inputs]
    if missing:
        raise KeyError(f"encoder inputs are missing {missing}; expected keys {list(INPUT_KEYS)}, got {sorted(inputs)}")
    tensors = []
    for key in INPUT_KEYS:
        tensor = tf.convert_to_tensor(inputs[key])
        if not tensor.dtype.is_integer:
            raise TypeError(f"{key} must be an integer tensor (int32), got dtype {tensor.dtype.name}")
        if tensor.shape.rank is not None and tensor.shape.rank != 2:
            raise ValueError(f"{key} must have shape [batch, seq_length], got shape {tensor.shape}")
        if tensor.dtype not in (tf.int32, tf.int64):
            # uint64 values >= 2**63 become negative and fail the range checks, as they should.
            tensor = tf.cast(tensor, tf.int64)
        tensors.append(tensor)
    shapes = [t.shape for t in tensors]
    if not all(shapes[0].is_compatible_with(s) for s in shapes[1:]):
        raise ValueError("input_word_ids, input_mask and input_type_ids must have the same shape, got "
                         + ", ".join(str(s) for s in shapes))
    if any(s.rank == 2 and s[1] == 0 for s in shapes):
        raise ValueError(EMPTY_SEQUENCE)
    return tuple(tensors)


def _in_range(tensor, low, high, message):
    """Asserts low <= tensor < high, comparing in the tensor's own dtype."""
    return [tf.debugging.assert_greater_equal(tensor, tf.constant(low, tensor.dtype), message=message),
            tf.debugging.assert_less(tensor, tf.constant(high, tensor.dtype), message=message)]


def input_value_checks(input_word_ids, input_mask, input_type_ids, vocab_size, type_vocab_size):
    """Runtime assertions (graph and eager) on what only the values can show; each message names the
    input and its limit. Unchecked, an out-of-range id fails tersely inside the CPU gather kernel and
    reads zeros on GPU/TPU; these checks are the guarantee on every device."""
    shape = tf.shape(input_word_ids)
    same_shape = "input_word_ids, input_mask and input_type_ids must have the same shape"
    return [
        tf.debugging.assert_equal(tf.shape(input_mask), shape, message=same_shape),
        tf.debugging.assert_equal(tf.shape(input_type_ids), shape, message=same_shape),
        tf.debugging.assert_greater(shape[1], 0, message=EMPTY_SEQUENCE),
        *_in_range(input_word_ids, 0, vocab_size, f"input_word_ids must be in [0, vocab_size={vocab_size})"),
        *_in_range(input_type_ids, 0, type_vocab_size,
                   f"input_type_ids must be in [0, type_vocab_size={type_vocab_size})"),
        *_in_range(input_mask, 0, 2, "input_mask values must be 0 or 1"),
    ]


class TransformerEncoderBase(keras.Model):
    """Embeddings -> optional embedding_projection -> L post-LN blocks -> pooler.

    Variables are created in the constructor, under stable paths
    (`word_embeddings/embeddings`, `transformer/layer_0/...`), so importers can
    assign them by name before the first call.
    """

    family = None  # set by each subclass
    shares_one_block = False
    # Variables that this family's published checkpoints never hold; importers allow them missing.
    not_in_checkpoints = ()

    def __init__(self, config, check_inputs=True, **kwargs):
        """`check_inputs=False` drops the in-graph value checks (id ranges, mask values, equal
        shapes) for pipelines that validate upstream, e.g. TPU-style input pipelines; the
        sequence-length limit is always checked."""
        if isinstance(config, Mapping):
            config = EncoderConfig.from_dict(config)
        config.validate()
        if config.family != self.family:
            raise ValueError(
                f"{type(self).__name__} needs config.family={self.family!r}, got {config.family!r}; "
                f"use official_encoders.build_encoder(config) to pick the class by family")
        super().__init__(**kwargs)
        self.config = config
        self.check_inputs = bool(check_inputs)
        c = config
        width = c.resolved_embedding_size
        policy = self.dtype_policy
        common = dict(initializer_range=c.initializer_range, dtype=policy)
        self.word_embeddings = TokenEmbedding(c.vocab_size, width, name="word_embeddings", **common)
        self.position_embedding = PositionEmbedding(
            c.max_position_embeddings, width, name="position_embedding", **common)
        self.type_embeddings = TokenEmbedding(c.type_vocab_size, width, name="type_embeddings", **common)
        self.embeddings_layer_norm = float32_layer_norm(c.layer_norm_eps, "layer_norm")
        self.embedding_projection = (
            Dense(width, c.hidden_size, name="embedding_projection", **common)
            if c.has_embedding_projection else None)
        block = dict(
            hidden_size=c.hidden_size, num_heads=c.num_heads, intermediate_size=c.intermediate_size,
            activation=c.hidden_act, attention_kind=c.attention_kind, feedforward_kind=c.feedforward_kind,
            hidden_dropout=c.hidden_dropout, attention_dropout=c.attention_dropout,
            layer_norm_eps=c.layer_norm_eps, **common)
        names = ["shared_layer"] if self.shares_one_block else [f"layer_{i}" for i in range(c.num_layers)]
        # One attribute per block: Keras 3 keeps lists out of tf.train.Checkpoint's
        # dependency graph, so a list would silently drop them from checkpoints.
        self._num_blocks = len(names)
        for index, name in enumerate(names):
            setattr(self, f"transformer_block_{index}", TransformerBlock(name=name, **block))
        self.pooler_transform = (
            Dense(c.hidden_size, c.hidden_size, activation="tanh", name="pooler_transform", **common)
            if c.has_pooler else None)
        self._create_variables()

    def _create_variables(self):
        width = self.config.resolved_embedding_size
        self.word_embeddings.build(None)
        self.position_embedding.build(None)
        self.type_embeddings.build(None)
        with keras.name_scope("embeddings"):
            self.embeddings_layer_norm.build((None, None, width))
        if self.embedding_projection is not None:
            self.embedding_projection.build(None)
        with keras.name_scope("transformer"):
            for layer in self.transformer_layers:
                layer.build(None)
        if self.pooler_transform is not None:
            self.pooler_transform.build(None)
        self.built = True

    @property
    def transformer_layers(self):
        """The TransformerBlocks in order (one, shared, for ALBERT)."""
        return [getattr(self, f"transformer_block_{i}") for i in range(self._num_blocks)]

    def block_for_layer(self, index):
        """The TransformerBlock that computes layer `index` (the same one for every index in ALBERT)."""
        return self.transformer_layers[0 if self.shares_one_block else index]

    def embed(self, input_word_ids, input_type_ids, training=None):
        """Sum of word, position and type embeddings, normalized, projected to hidden_size."""
        words = self.word_embeddings(input_word_ids)
        embedded = (tf.cast(words, tf.float32) + tf.cast(self.position_embedding(words), tf.float32)
                    + tf.cast(self.type_embeddings(input_type_ids), tf.float32))
        embedded = self.embeddings_layer_norm(embedded)
        if training and self.config.hidden_dropout > 0:
            embedded = tf.nn.dropout(embedded, rate=self.config.hidden_dropout)
        if self.embedding_projection is not None:
            embedded = self.embedding_projection(embedded)
        return embedded

    def call(self, inputs, training=None):
        input_word_ids, input_mask, input_type_ids = unpack_inputs(inputs)
        if self.check_inputs:
            checks = input_value_checks(input_word_ids, input_mask, input_type_ids,
                                        self.config.vocab_size, self.config.type_vocab_size)
            with tf.control_dependencies(checks):  # every later op waits for the checks
                input_word_ids, input_mask, input_type_ids = (
                    tf.identity(input_word_ids), tf.identity(input_mask), tf.identity(input_type_ids))
        input_word_ids, input_mask, input_type_ids = (
            tf.cast(input_word_ids, tf.int32), tf.cast(input_mask, tf.int32), tf.cast(input_type_ids, tf.int32))
        hidden = self.embed(input_word_ids, input_type_ids, training=training)
        attention_mask = additive_attention_mask(input_mask)
        encoder_outputs = []
        for index in range(self.config.num_layers):
            hidden = self.block_for_layer(index)(hidden, attention_mask, training=training)
            encoder_outputs.append(hidden)
        sequence_output = encoder_outputs[-1]
        first_token = sequence_output[:, 0, :]
        if self.pooler_transform is not None:
            pooled_output = tf.cast(self.pooler_transform(first_token), tf.float32)
        else:
            pooled_output = first_token
        return {
            "sequence_output": sequence_output,
            "pooled_output": pooled_output,
            "default": pooled_output,
            "encoder_outputs": encoder_outputs,
        }

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "dtype": keras.dtype_policies.serialize(self.dtype_policy),
                "config": self.config.to_dict(), "check_inputs": self.check_inputs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        dtype = config.pop("dtype", None)
        if isinstance(dtype, dict):
            dtype = keras.dtype_policies.deserialize(dtype)
        return cls(EncoderConfig.from_dict(config.pop("config")), dtype=dtype, **config)
