"""The position-wise feed-forward network: dense with an activation, or gated (GEGLU)."""

import keras

from official_encoders.layers.dense import Dense

FEEDFORWARD_KINDS = ("dense", "gated_gelu")


@keras.saving.register_keras_serializable(package="official_encoders")
class Feedforward(keras.layers.Layer):
    """kind="dense":      output(act(intermediate(x)))
    kind="gated_gelu": output(act(intermediate(x)) * gate(x))  (Shazeer 2020, GEGLU)."""

    def __init__(self, hidden_size, intermediate_size, activation="gelu", kind="dense",
                 initializer_range=0.02, **kwargs):
        kwargs.setdefault("autocast", False)  # the layer casts its inputs itself
        super().__init__(**kwargs)
        if kind not in FEEDFORWARD_KINDS:
            raise ValueError(f"Feedforward kind={kind!r} is not supported; allowed: {list(FEEDFORWARD_KINDS)}")
        self.hidden_size = int(hidden_size)
        self.intermediate_size = int(intermediate_size)
        self.activation = activation
        self.kind = kind
        self.initializer_range = float(initializer_range)
        common = dict(initializer_range=initializer_range, dtype=self.dtype_policy)
        # The activation belongs to the intermediate Dense: right after its bias, where
        # the graph optimizer can fuse it into the matmul.
        self.intermediate = Dense(hidden_size, intermediate_size, activation=activation, name="intermediate",
                                  **common)
        self.gate = Dense(hidden_size, intermediate_size, name="gate", **common) if kind == "gated_gelu" else None
        self.output_dense = Dense(intermediate_size, hidden_size, name="output", **common)

    def build(self, input_shape=None):
        for layer in (self.intermediate, self.gate, self.output_dense):
            if layer is not None:
                layer.build(None)

    def call(self, hidden):
        """hidden [..., H] -> [..., H] in the compute dtype."""
        inner = self.intermediate(hidden)
        if self.gate is not None:
            inner = inner * self.gate(hidden)
        return self.output_dense(inner)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_size=self.hidden_size, intermediate_size=self.intermediate_size,
                      activation=self.activation, kind=self.kind, initializer_range=self.initializer_range)
        return config
