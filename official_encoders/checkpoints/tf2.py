"""Our own format: a tf.train.Checkpoint of an encoder (with or without its head), by variable path.

The checkpoint holds one entry per variable, keyed by the variable's stable
path (`transformer/layer_0/self_attention/query/kernel`, `masked_lm/output_bias`),
so loading is by name like every other importer and reports loaded, missing
and unused tensors. A directory written by `save_pretrained` is what
`official_encoders.from_pretrained` reads:

    <dir>/encoder_config.json   {"format": "official_encoders.tf2", "config": {...}, "do_lower_case": ...,
                                 "task": {"task": ..., "num_labels": ..., "id2label": ..., ...} (task models),
                                 "task_settings": {"seq_length": ..., ...} (fine-tuned task models),
                                 "sentence_pooling": {"modes": [...], "normalize": ..., "include_prompt": ...},
                                 "identity": "<the source's id, e.g. sentence-transformers/all-MiniLM-L6-v2>"}
    <dir>/ckpt.index, <dir>/ckpt.data-*
    <dir>/vocab.txt or <dir>/spiece.model (when known)
"""

import json
import os
import re
import shutil

import tensorflow as tf

from official_encoders.fileio.atomic import atomic_directory
from official_encoders.checkpoints.checkpoint_file import CheckpointReader, data_files
from official_encoders.checkpoints.identity import SourceIdentity, directory_identity
from official_encoders.checkpoints.mapping import Row, assign
from official_encoders.checkpoints.report import ImportResult
from official_encoders.checkpoints.sentence_pooling import SentencePooling
from official_encoders.checkpoints.task_import import (Variables, check_source_num_labels, choose_task,
                                                       fresh_task_model)
from official_encoders.models import EncoderWithMaskedLM, EncoderWithRtd, build_encoder
from official_encoders.models.configs import EncoderConfig
from official_encoders.tasks import build_task_model

FORMAT = "official_encoders.tf2"
CONFIG_FILE = "encoder_config.json"
CHECKPOINT_NAME = "ckpt"
_ROOT = "weights"
_KEY = re.compile(rf"^{_ROOT}/(.+)/\.ATTRIBUTES/VARIABLE_VALUE$")


def _unescape(name):
    """Undo the checkpoint's escaping of dict keys ("." -> "..", "/" -> ".S")."""
    return re.sub(r"\.(.)", lambda m: {".": ".", "S": "/"}.get(m.group(1), m.group(0)), name)


def save_tf2(model, ckpt_prefix):
    """Write every variable of `model` (encoder, EncoderWithMaskedLM, EncoderWithRtd, a task model, or
    anything with `.weights`); returns the prefix."""
    weights = {v.path: v.value if hasattr(v, "value") else v for v in model.weights}
    return tf.train.Checkpoint(**{_ROOT: weights}).write(os.fspath(ckpt_prefix))


def _read_config(config_file):
    with open(config_file, encoding="utf-8") as f:
        data = json.load(f)
    if data.get("format") == FORMAT:
        return EncoderConfig.from_dict(data["config"]), data
    return EncoderConfig.from_dict(data), {}


def load_tf2(ckpt_prefix, config_file=None, allow_missing=(), task=None, num_labels=None, id2label=None):
    """Rebuild the model saved by save_tf2; its head (MLM, RTD or none) is read from the checkpoint.

    `config_file` is our encoder_config.json or a plain EncoderConfig JSON; by
    default the encoder_config.json next to the checkpoint. `task` (None, "auto" or
    a task name), `num_labels` and `id2label` choose the task model as for every
    source (`task_import.choose_task`); the task a checkpoint holds is its config's
    "task" entry, written by save_pretrained.
    """
    ckpt_prefix = os.fspath(ckpt_prefix)
    if os.path.isdir(ckpt_prefix):
        ckpt_prefix = os.path.join(ckpt_prefix, CHECKPOINT_NAME)
    if not os.path.exists(ckpt_prefix + ".index"):
        raise FileNotFoundError(f"no tf2 checkpoint at prefix {ckpt_prefix} ({ckpt_prefix}.index does not exist)")
    if config_file is None:
        config_file = os.path.join(os.path.dirname(ckpt_prefix), CONFIG_FILE)
        if not os.path.exists(config_file):
            raise FileNotFoundError(f"tf2 checkpoint {ckpt_prefix} needs its config: pass config_file= "
                                    f"(export CLI: --config_file); {config_file} does not exist")
    config, meta = _read_config(config_file)
    reader = CheckpointReader(ckpt_prefix, what=f"tf2 checkpoint {ckpt_prefix}")
    keys = {}
    for key in reader.get_variable_to_shape_map():
        found = _KEY.match(key)
        if found:
            keys[_unescape(found.group(1))] = key
    if not keys:
        raise ValueError(f"{ckpt_prefix} is not a checkpoint written by save_tf2 (no '{_ROOT}/...' entries)")
    encoder = build_encoder(config)
    if any(name.startswith("masked_lm/") for name in keys):
        model = EncoderWithMaskedLM(encoder)
    elif any(name.startswith("rtd/") for name in keys):
        model = EncoderWithRtd(encoder)
    else:
        model = encoder
    held = dict(meta.get("task") or {})
    source_task = held.pop("task", None)
    chosen, fresh = choose_task(task, source_task, f"tf2 checkpoint {ckpt_prefix}", num_labels, id2label)
    task_model = None
    if chosen is not None and not fresh:
        check_source_num_labels(chosen, num_labels, held["num_labels"], f"tf2 checkpoint {ckpt_prefix}")
        if id2label is not None:
            held["id2label"] = id2label
        task_model = build_task_model(chosen, encoder, **held)
    variables = Variables(model, task_model)
    rows = [Row(v.path, v.path) for v in variables.weights]
    report = assign(variables, rows, keys, lambda name: reader.get_tensor(keys[name]), allow_missing=allow_missing,
                    what=f"tf2 checkpoint {ckpt_prefix}")
    if fresh:
        task_model = fresh_task_model(report, chosen, encoder, num_labels, id2label)
    directory = os.path.dirname(ckpt_prefix)
    assets = {k: os.path.join(directory, meta[k]) for k in ("vocab_file", "sp_model_file") if meta.get(k)}
    files = [ckpt_prefix + ".index", os.fspath(config_file)] + data_files(ckpt_prefix) + list(assets.values())
    identity = (SourceIdentity(meta["identity"], CONFIG_FILE) if meta.get("identity")
                else directory_identity(directory or "."))
    return ImportResult(config=config, model=model, encoder=encoder, report=report,
                        vocab_file=assets.get("vocab_file"), sp_model_file=assets.get("sp_model_file"),
                        do_lower_case=meta.get("do_lower_case"), source_files=files, task_model=task_model,
                        source_task=source_task, task_settings=meta.get("task_settings"),
                        sentence_pooling=SentencePooling.from_dict(meta.get("sentence_pooling")), identity=identity)


def save_pretrained(result, directory, task_settings=None):
    """Write an ImportResult as a directory from_pretrained can read. Refuses to overwrite.

    The model, its pretraining head and, when `result.task_model` is set, the task
    head with its task, label names and settings are written. `task_settings` (a
    JSON-able dict, e.g. a fine-tuning run's seq_length or doc_stride) is kept as
    "task_settings" for the export to serve with; load_tf2 returns it as
    `result.task_settings`.

    Written into a temporary sibling and renamed into place, so a failure
    leaves nothing half-written behind. The source's identity (`result.identity`)
    is kept in encoder_config.json, so an export of this directory is named after
    the model it came from, not after the directory.
    """
    directory = os.path.abspath(os.fspath(directory))
    with atomic_directory(directory) as staging:
        staging = os.fspath(staging)
        meta = {"format": FORMAT, "config": result.config.to_dict(), "do_lower_case": result.do_lower_case}
        if getattr(result, "sentence_pooling", None) is not None:
            meta["sentence_pooling"] = result.sentence_pooling.to_dict()
        if getattr(result, "identity", None) is not None:
            meta["identity"] = result.identity.id
        for key, name in (("vocab_file", "vocab.txt"), ("sp_model_file", "spiece.model")):
            source = getattr(result, key)
            if source:
                shutil.copyfile(source, os.path.join(staging, name))
                meta[key] = name
        if result.task_model is not None:
            meta["task"] = result.task_model.task_config()
        task_settings = task_settings if task_settings is not None else getattr(result, "task_settings", None)
        if task_settings:
            meta["task_settings"] = dict(task_settings)
        save_tf2(Variables(result.model, result.task_model), os.path.join(staging, CHECKPOINT_NAME))
        with open(os.path.join(staging, CONFIG_FILE), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2, sort_keys=True)
    return directory
