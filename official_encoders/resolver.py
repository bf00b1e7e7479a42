"""official_encoders.resolve(handle) -> local SavedModel directory (placeholder, replaced below)."""

import os


def resolve(handle):
    """Returns a local directory for `handle` (a path or a hub.resolve-able handle)."""
    handle = os.fspath(handle)
    if os.path.isdir(handle):
        return handle
    import tensorflow_hub as hub

    return hub.resolve(handle)
