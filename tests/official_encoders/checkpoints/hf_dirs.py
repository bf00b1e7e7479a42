"""Writes Hugging Face-style directories from our own models, using hf.py's tables in reverse."""

import json

import numpy as np
from safetensors.numpy import save_file

from official_encoders.checkpoints import hf
from official_encoders.checkpoints.mapping import TIED, expand


def hf_tensors(model, family, head=None, prefix=""):
    """{HF name: array} for every variable of `model` (a bare encoder or a pretrainer)."""
    rows = list(hf.BODY_TABLES[family])
    if head is not None:
        rows += hf.HEAD_TABLES[(family, head)][1]
    values = {v.path: v.numpy() for v in model.weights}
    tensors = {}
    for row in expand(rows, model.config.num_layers, source_prefix=prefix):
        if row.transform == TIED or row.target not in values:
            continue
        value = values[row.target]
        tensors[row.source] = np.ascontiguousarray(value.T if row.transform == "transpose" else value)
    return tensors


def write_hf_dir(directory, model, family, head=None, prefix="", drop=(), replace=None):
    directory.mkdir(parents=True, exist_ok=True)
    tensors = hf_tensors(model, family, head, prefix)
    for name in drop:
        del tensors[name]
    tensors.update(replace or {})
    save_file(tensors, str(directory / "model.safetensors"))
    (directory / "config.json").write_text(json.dumps(model.config.to_hf_config()))
    return directory
