"""One entry point for every source: a spec string ("hf:", "tf1:", "tf2:", "preset:") or a directory.

`parse_source_spec` is the one reader of the spec grammar; the export CLI and
fine-tuning call it too.
"""

import json
import os

from official_encoders.checkpoints.report import ImportReport, ImportResult
from official_encoders.checkpoints.task_import import attach_task
from official_encoders.models.configs import EncoderConfig

SOURCE_KINDS = ("hf", "tf1", "tf2", "preset")
_TF1_CONFIGS = ("bert_config.json", "albert_config.json", "electra_config.json")


def _tf1_config_next_to(prefix):
    directory = prefix if os.path.isdir(prefix) else os.path.dirname(prefix)
    for name in _TF1_CONFIGS:
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(
        f"TF1 checkpoint {prefix} needs its config: pass --config_file (config_file=) or put one of "
        f"{list(_TF1_CONFIGS)} next to it")


def load_preset(name, task=None, num_labels=None, id2label=None):
    """A randomly initialised model of a catalog entry, with its pretraining head (for testing pipelines),
    and the entry's task model (or one asked for with `task`/`num_labels`) when `task` is given."""
    from official_encoders.models import EncoderWithMaskedLM, EncoderWithRtd, build_encoder, presets

    preset = presets.get_preset(name)
    encoder = build_encoder(preset.config)
    model = EncoderWithRtd(encoder) if preset.config.family == "electra" else EncoderWithMaskedLM(encoder)
    result = ImportResult(config=preset.config, model=model, encoder=encoder, report=ImportReport(),
                          do_lower_case=preset.do_lower_case, source_files=[])
    return attach_task(result, task, f"catalog entry {preset.name!r}", num_labels, id2label,
                       source_task=preset.task, source_num_labels=preset.num_labels)


def parse_source_spec(spec, what="source"):
    """(kind, location) of "hf:<dir>", "tf1:<ckpt prefix or dir>", "tf2:<ckpt prefix or dir>" or
    "preset:<name>"; raises ValueError naming `what` (e.g. "--source") and the grammar otherwise."""
    kind, sep, location = str(spec).partition(":")
    if not sep or kind not in SOURCE_KINDS or not location:
        raise ValueError(f"{what} {spec!r}: expected hf:<dir>, tf1:<ckpt prefix>, tf2:<ckpt prefix> "
                         "or preset:<catalog name>.")
    return kind, location


def is_source_spec(text):
    """Whether `text` starts with one of the spec kinds ("hf:", "tf1:", ...)."""
    return str(text).partition(":")[0] in SOURCE_KINDS and ":" in str(text)


def load_source(spec, config_file=None, allow_missing=(), task=None, num_labels=None, id2label=None):
    """Import `spec` = "hf:<dir>", "tf1:<ckpt prefix or dir>", "tf2:<ckpt prefix or dir>" or "preset:<name>".

    `task` (None, "auto" or one of `official_encoders.tasks.TASKS`), `num_labels` and
    `id2label` ask for a task model too, set as `result.task_model` (see
    `official_encoders.checkpoints.task_import`). Of the task heads, TF1 checkpoints hold
    only BERT's next-sentence prediction; other tasks need `num_labels=` for a fresh head.
    """
    kind, location = parse_source_spec(spec)
    task_args = dict(task=task, num_labels=num_labels, id2label=id2label)
    if kind == "preset":
        if config_file is not None:
            raise ValueError("preset: sources take their config from the catalog; drop config_file (--config_file)")
        return load_preset(location, **task_args)
    location = os.path.expanduser(location)
    if kind == "hf":
        if config_file is not None:
            raise ValueError("hf: sources read config.json from their directory; drop config_file (--config_file)")
        from official_encoders.checkpoints import hf

        return hf.load_hf(location, allow_missing=allow_missing, **task_args)
    if kind == "tf1":
        from official_encoders.checkpoints import tf1

        return tf1.load_tf1(location, config_file or _tf1_config_next_to(location), allow_missing=allow_missing,
                            **task_args)
    from official_encoders.checkpoints import tf2

    return tf2.load_tf2(location, config_file, allow_missing=allow_missing, **task_args)


def detect_format(directory):
    """"hf", "tf1" or "tf2" for a model directory, by the files in it."""
    from official_encoders.checkpoints import tf2

    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise NotADirectoryError(f"{directory} is not a directory")
    names = set(os.listdir(directory))
    if tf2.CONFIG_FILE in names:
        return "tf2"
    if "config.json" in names or "modules.json" in names:
        return "hf"
    if names & set(_TF1_CONFIGS) and any(n.endswith(".index") for n in names):
        return "tf1"
    raise ValueError(
        f"{directory} is not a model directory we can read. Expected one of: a Hugging Face or "
        f"sentence-transformers directory (config.json or modules.json), a google-research TF1 checkpoint "
        f"with bert_config.json/albert_config.json, or ours ({tf2.CONFIG_FILE}). Found: {sorted(names)[:20]}")


def load_directory(directory, allow_missing=(), task=None, num_labels=None, id2label=None):
    """Import a model directory in any supported format (see detect_format); `task`, `num_labels`
    and `id2label` as for load_source."""
    kind = detect_format(directory)
    return load_source(f"{kind}:{os.fspath(directory)}", allow_missing=allow_missing, task=task,
                       num_labels=num_labels, id2label=id2label)


def read_config_file(path):
    """An EncoderConfig from any config file we know: ours (as save_pretrained writes it, or a
    plain `EncoderConfig.to_dict()`), a Hugging Face config.json or a google-research
    bert_config.json/albert_config.json."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data.get("config"), dict) and "format" in data:
        return EncoderConfig.from_dict(data["config"])
    if "family" in data:
        return EncoderConfig.from_dict(data)
    if "model_type" in data:
        return EncoderConfig.from_hf_config(data)
    return EncoderConfig.from_bert_config_json(data)


def detect_checkpoint_kind(prefix):
    """"tf2" (tf2.save_tf2), "tf1" (google-research) or "encoder" (a tf.train.Checkpoint whose
    root holds the encoder as `encoder`) for a checkpoint prefix, by its variable names."""
    import tensorflow as tf

    try:
        names = [name for name, _ in tf.train.list_variables(prefix)]
    except (tf.errors.OpError, ValueError) as error:
        raise ValueError(f"{prefix} is not a readable checkpoint: {error}") from None
    if any(n.startswith("weights/") for n in names):
        return "tf2"
    if any(n.startswith("encoder/") for n in names):
        return "encoder"
    if any(n.split("/", 1)[0] in ("bert", "albert", "electra") for n in names):
        return "tf1"
    raise ValueError(f"{prefix}: unknown layout (first keys {names[:5]}); expected a "
                     "save_tf2 checkpoint, a google-research TF1 checkpoint, a "
                     "tf.train.Checkpoint(encoder=...) or a .weights.h5 file.")
