"""The model of a run: an encoder (hub handle or checkpoint) with a classification head."""

import keras
import tensorflow as tf

from official_encoders.checkpoints.sources import (detect_checkpoint_kind, is_source_spec, load_source,
                                                   read_config_file)
from official_encoders.hub.hub_layer import HubLayer
from official_encoders.models import build_encoder
from preprocessors.packing import INPUT_KEYS
from preprocessors.tokenizer_factory import DEFAULT_DO_LOWER_CASE


def build_encoder_from_checkpoint(params):
    """Our Keras 3 encoder with the weights of --init_checkpoint; returns (encoder, vocabulary).

    Accepts a source spec (`tf1:`, `tf2:`, `hf:`, `preset:`), a checkpoint prefix of
    any of those layouts (detected by its keys), a Keras weights file (`*.weights.h5`)
    or a tf.train.Checkpoint whose root has the encoder as `encoder`. Every encoder
    variable must be restored: a checkpoint holding only some of them is refused
    rather than leaving random weights. `vocabulary` is (vocab_file, sp_model_file,
    do_lower_case) when the source knows it.
    """
    spec = params.init_checkpoint
    if not is_source_spec(spec) and not spec.endswith(".weights.h5"):
        try:
            kind = detect_checkpoint_kind(spec)
        except ValueError as error:
            raise ValueError(f"--init_checkpoint: {error}") from None
        if kind != "encoder":
            spec = f"{kind}:{spec}"
    if is_source_spec(spec):
        result = load_source(spec, params.config_file)
        return result.encoder, (result.vocab_file, result.sp_model_file, result.do_lower_case)

    if not params.config_file:
        raise ValueError(f"--init_checkpoint={spec} needs --config_file (the encoder's config JSON).")
    encoder = build_encoder(read_config_file(params.config_file))
    encoder({name: tf.zeros([1, 4], tf.int32) for name in INPUT_KEYS})
    if spec.endswith(".weights.h5"):
        encoder.load_weights(spec)
        return encoder, (None, None, None)
    status = tf.train.Checkpoint(encoder=encoder).read(spec)
    held = [name for name, _ in tf.train.list_variables(spec)
            if name.startswith("encoder/") and name.endswith("/.ATTRIBUTES/VARIABLE_VALUE")]
    try:
        status.assert_existing_objects_matched()
        if len(held) != len(encoder.weights):
            raise AssertionError(f"it holds {len(held)} of the encoder's {len(encoder.weights)} "
                                 "variables")
    except AssertionError as error:
        raise ValueError(f"--init_checkpoint={spec} does not hold every variable of the encoder "
                         f"under 'encoder/': {error}. Write it with official_encoders.checkpoints.tf2.save_tf2 "
                         "or encoder.save_weights('<name>.weights.h5').") from None
    return encoder, (None, None, None)


def build_classifier(params, num_classes):
    """The Keras 3 classifier: encoder (hub or checkpoint) -> dropout -> dense logits."""
    inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in INPUT_KEYS}
    if params.hub_module_url:
        encoder = HubLayer(params.hub_module_url, trainable=True, name="encoder")
        encoder_object = encoder.resolved_object
    else:
        encoder, vocabulary = build_encoder_from_checkpoint(params)
        encoder_object = _VocabularyHolder(*vocabulary)
    pooled = encoder(inputs)["pooled_output"]
    pooled = keras.layers.Dropout(params.dropout, name="dropout")(pooled)
    logits = keras.layers.Dense(
        num_classes, name="logits",
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02))(pooled)
    return keras.Model(inputs, logits, name="classifier"), encoder_object


class _VocabularyHolder:
    """The vocabulary an imported checkpoint came with, shaped like a SavedModel's assets."""

    def __init__(self, vocab_file, sp_model_file, do_lower_case):
        if vocab_file:
            self.vocab_file = tf.saved_model.Asset(vocab_file)
            self.do_lower_case = tf.constant(DEFAULT_DO_LOWER_CASE if do_lower_case is None
                                             else bool(do_lower_case))
        elif sp_model_file:
            self.sp_model_file = tf.saved_model.Asset(sp_model_file)
