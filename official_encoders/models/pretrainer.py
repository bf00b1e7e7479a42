"""Encoders with their pretraining heads: the `.mlm` and `.rtd` views the export needs."""

import keras

from preprocessors.packing import INPUT_KEYS
from official_encoders.layers.masked_lm import MaskedLMHead
from official_encoders.layers.rtd_head import RtdHead


def encoder_from_config(value):
    """The encoder itself, or the one a `get_config()` entry describes (for from_config of wrappers)."""
    return value if isinstance(value, keras.Model) else keras.saving.deserialize_keras_object(value)


@keras.saving.register_keras_serializable(package="official_encoders")
class EncoderWithMaskedLM(keras.Model):
    """encoder + MaskedLMHead tied to encoder.word_embeddings.

    Call with the encoder inputs plus "masked_lm_positions" int32 [B, P];
    returns the encoder outputs plus "mlm_logits" float32 [B, P, vocab_size].
    `.encoder` is the very encoder passed in (variables shared, not copied).
    """

    head_kind = "mlm"  # the export's name for this head (the `.mlm` subobject)

    def __init__(self, encoder, activation=None, **kwargs):
        """`activation` of the head's transform defaults to config.hidden_act (ELECTRA's
        generator always uses exact "gelu")."""
        encoder = encoder_from_config(encoder)
        super().__init__(**kwargs)
        self.encoder = encoder
        self.activation = activation
        c = encoder.config
        self.masked_lm = MaskedLMHead(
            c.hidden_size, c.resolved_embedding_size, c.vocab_size, activation=activation or c.hidden_act,
            layer_norm_eps=c.layer_norm_eps, initializer_range=c.initializer_range,
            dtype=encoder.dtype_policy, name="masked_lm")
        self.masked_lm.build(None)
        self.built = True

    @property
    def config(self):
        return self.encoder.config

    def call(self, inputs, training=None):
        if "masked_lm_positions" not in inputs:
            raise KeyError(f"EncoderWithMaskedLM inputs need 'masked_lm_positions' int32 [B, P] besides "
                           f"{list(INPUT_KEYS)}; got {sorted(inputs)}")
        outputs = dict(self.encoder({k: inputs[k] for k in INPUT_KEYS}, training=training))
        outputs["mlm_logits"] = self.masked_lm(
            outputs["sequence_output"], inputs["masked_lm_positions"], self.encoder.word_embeddings.embeddings)
        return outputs

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "activation": self.activation,
                "encoder": keras.saving.serialize_keras_object(self.encoder)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="official_encoders")
class EncoderWithRtd(keras.Model):
    """ELECTRA discriminator: encoder + RtdHead.

    Call with the encoder inputs; returns the encoder outputs plus "rtd_logits"
    float32 [B, S] (positive = token was replaced).
    """

    head_kind = "rtd"  # the export's name for this head (the `.rtd` subobject)

    def __init__(self, encoder, **kwargs):
        encoder = encoder_from_config(encoder)
        super().__init__(**kwargs)
        self.encoder = encoder
        c = encoder.config
        self.rtd = RtdHead(c.hidden_size, activation=c.hidden_act, initializer_range=c.initializer_range,
                           dtype=encoder.dtype_policy, name="rtd")
        self.rtd.build(None)
        self.built = True

    @property
    def config(self):
        return self.encoder.config

    def call(self, inputs, training=None):
        outputs = dict(self.encoder({k: inputs[k] for k in INPUT_KEYS}, training=training))
        outputs["rtd_logits"] = self.rtd(outputs["sequence_output"])
        return outputs

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable,
                "encoder": keras.saving.serialize_keras_object(self.encoder)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
