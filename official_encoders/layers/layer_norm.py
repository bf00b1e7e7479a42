"""Layer normalization that always computes (and returns) float32, also under mixed precision."""

import keras


def float32_layer_norm(epsilon, name):
    """A keras LayerNormalization pinned to float32 (variables `gamma`, `beta`)."""
    return keras.layers.LayerNormalization(epsilon=epsilon, dtype="float32", name=name)
