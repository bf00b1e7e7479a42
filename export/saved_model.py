"""Wraps Keras 3 encoders as a Reusable SavedModel (what `hub.load`/`hub.KerasLayer` consume).

Object graph of an exported encoder:

    root            __call__(inputs, training=False) -> dict of encoder outputs
                    variables, trainable_variables, regularization_losses
                    vocab_file (Asset) + do_lower_case (bool tf.Variable), or sp_model_file
                    signatures: serving_default [, mlm] [, rtd]
    root.mlm        same contract; inputs add masked_lm_positions, outputs add mlm_logits
    root.rtd        ELECTRA discriminator; outputs add rtd_logits [batch, seq]
    root.sentence_pooling   (sentence-transformers sources) a string tf.Variable holding the
                    SentencePooling as JSON; then the root, its heads and serving_default also
                    return sentence_embedding [batch, H] float32, pooled in the graph under input_mask

The subobjects call the very same Keras encoder object, so their variables are the
root's variables (saved once) plus their head's.

Legacy v1 interface (`legacy_v1=True`): the root `__call__` is also traced for a list
input `[input_word_ids, input_mask, segment_ids]` and then returns the list
`[pooled_output, sequence_output]`, as the TF-Hub BERT/ELECTRA pages' first versions
did. It lives in the same artifact, so old code such as
`hub.KerasLayer(handle, trainable=True)([ids, mask, segments])` keeps working against
the new handle; the dict interface is unchanged.
"""

import json

import tensorflow as tf

from preprocessors.packing import INPUT_KEYS

SERVING_OUTPUTS = ("pooled_output", "sequence_output")
SENTENCE_OUTPUT = "sentence_embedding"
HEAD_INPUTS = {"mlm": ("masked_lm_positions",), "rtd": ()}
HEAD_OUTPUTS = {"mlm": "mlm_logits", "rtd": "rtd_logits"}


def input_specs(extra=(), rank=2):
    """Encoder input specs: int32 [batch, seq] (rank 3: [batch, num_choices, seq])."""
    return {k: tf.TensorSpec([None] * rank, tf.int32, name=k) for k in INPUT_KEYS + tuple(extra)}


def _as_float32(outputs):
    """Outputs leave the SavedModel in float32 whatever the compute dtype was."""
    return tf.nest.map_structure(
        lambda t: tf.cast(t, tf.float32) if t.dtype.is_floating else t, outputs)


def _regularization_loss_fn(variable):
    return tf.function(lambda: tf.cast(variable.regularizer(variable.value), tf.float32),
                       input_signature=[])


class ReusableModule(tf.__internal__.tracking.AutoTrackable):
    """One callable of the Reusable SavedModel around one Keras 3 model.

    `variables`/`trainable_variables` are the Keras variables' backing tf.Variables;
    `regularization_losses` holds one no-argument tf.function per regularized weight.
    `outputs` names the output keys kept (default: the encoder's), also those of the signature;
    `input_rank` 3 traces [batch, num_choices, seq] inputs (multiple choice).
    """

    def __init__(self, keras_model, head=None, legacy_v1=False, sentence_pooling=None, outputs=None, input_rank=2):
        self._head = head
        self._outputs = tuple(outputs) if outputs else None
        self._sentence = sentence_pooling is not None
        pooling = sentence_pooling.layer(name="sentence_pooling") if self._sentence else None
        self.variables = [v.value for v in keras_model.variables]
        self.trainable_variables = [v.value for v in keras_model.trainable_variables]
        self.regularization_losses = [
            _regularization_loss_fn(v) for v in keras_model.trainable_variables
            if getattr(v, "regularizer", None) is not None]
        # The Keras model is reached through this closure only, not as a SavedModel
        # dependency: Keras would add its own float-input serving function to it.
        # Its variables are saved through `variables`.
        keep = tuple(outputs or ("pooled_output", "default", "sequence_output", "encoder_outputs"))
        if head:
            keep += (HEAD_OUTPUTS[head],)

        def call(inputs, training=False):
            if isinstance(inputs, (list, tuple)):  # the legacy v1 interface
                word_ids, mask, segment_ids = inputs
                outputs = _as_float32(keras_model(
                    {"input_word_ids": word_ids, "input_mask": mask, "input_type_ids": segment_ids},
                    training=training))
                return [outputs["pooled_output"], outputs["sequence_output"]]
            outputs = _as_float32(keras_model(dict(inputs), training=training))
            outputs = {k: outputs[k] for k in keep}
            if pooling is not None:
                outputs[SENTENCE_OUTPUT] = pooling(outputs["sequence_output"], inputs["input_mask"])
            return outputs

        self.__call__ = tf.function(call)
        extra = HEAD_INPUTS[head] if head else ()
        for training in (False, True):
            self.__call__.get_concrete_function(input_specs(extra, input_rank), training=training)
            if legacy_v1:
                self.__call__.get_concrete_function(
                    [tf.TensorSpec([None, None], tf.int32, name=n)
                     for n in ("input_word_ids", "input_mask", "segment_ids")],
                    training=training)

    def signature(self):
        """A flat-output inference function for a named SavedModel signature."""
        extra = HEAD_INPUTS[self._head] if self._head else ()
        names = self._outputs or SERVING_OUTPUTS + ((HEAD_OUTPUTS[self._head],) if self._head else ())
        names += (SENTENCE_OUTPUT,) if self._sentence else ()

        @tf.function(input_signature=[input_specs(extra)])
        def serve(inputs):
            outputs = self.__call__(inputs, training=False)
            return {k: outputs[k] for k in names}

        return serve


def build_encoder_module(result, *, with_heads=True, legacy_v1=False, vocab_file=None,
                         sp_model_file=None, do_lower_case=None):
    """Builds the root ReusableModule (+ .mlm / .rtd) for an official_encoders.checkpoints.ImportResult.

    `vocab_file`/`sp_model_file`/`do_lower_case` override what the source provided.
    With `with_heads=False` only the bare encoder is exported. A result with a
    `sentence_pooling` gets the `sentence_embedding` output and the `sentence_pooling` attribute.
    """
    vocab_file = vocab_file or result.vocab_file
    sp_model_file = sp_model_file or result.sp_model_file
    if do_lower_case is None:
        do_lower_case = result.do_lower_case
    if vocab_file and sp_model_file:
        raise ValueError("Give either a WordPiece vocab_file or a SentencePiece sp_model_file, not both.")
    if not (vocab_file or sp_model_file):
        raise ValueError(
            "The source has no vocabulary: pass --vocab_file (WordPiece vocab.txt) or "
            "--sp_model_file (SentencePiece model) so the export carries its tokenizer asset.")
    pooling = getattr(result, "sentence_pooling", None)
    root = ReusableModule(result.encoder, legacy_v1=legacy_v1, sentence_pooling=pooling)
    kind = getattr(result.model, "head_kind", None) if with_heads else None
    if kind:
        setattr(root, kind, ReusableModule(result.model, head=kind, sentence_pooling=pooling))
    if pooling is not None:
        root.sentence_pooling = tf.Variable(json.dumps(pooling.to_dict(), sort_keys=True), trainable=False,
                                            name="sentence_pooling")
    return attach_vocabulary(root, vocab_file, sp_model_file, do_lower_case)


def attach_vocabulary(root, vocab_file=None, sp_model_file=None, do_lower_case=None):
    """Gives `root` the vocabulary asset: `vocab_file` plus a `do_lower_case` variable, or `sp_model_file`."""
    if vocab_file:
        root.vocab_file = tf.saved_model.Asset(str(vocab_file))
        root.do_lower_case = tf.Variable(bool(do_lower_case if do_lower_case is not None else True),
                                         trainable=False, name="do_lower_case")
    else:
        root.sp_model_file = tf.saved_model.Asset(str(sp_model_file))
    return root


def read_sentence_pooling(loaded):
    """The SentencePooling record of a loaded export as a dict, or None (no sentence_embedding output)."""
    variable = getattr(loaded, "sentence_pooling", None)
    return None if variable is None else json.loads(variable.numpy().decode("utf-8"))


def head_names(module):
    return [k for k in HEAD_OUTPUTS if hasattr(module, k)]


def save_encoder_model(module, export_dir):
    """Writes `module` (from build_encoder_module) as a SavedModel with its signatures."""
    signatures = {"serving_default": module.signature()}
    for kind in head_names(module):
        signatures[kind] = getattr(module, kind).signature()
    tf.saved_model.save(module, str(export_dir), signatures=signatures)
