"""One entry point for every source: a spec string ("hf:", "tf1:", "tf2:", "preset:") or a directory."""

import os

from export.sources.report import ImportReport, ImportResult

KINDS = ("hf", "tf1", "tf2", "preset")
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


def load_preset(name):
    """A randomly initialised model of a catalog entry, with its pretraining head (for testing pipelines)."""
    from official_encoders import EncoderWithMaskedLM, EncoderWithRtd, build_encoder
    from official_encoders import presets

    preset = presets.get_preset(name)
    encoder = build_encoder(preset.config)
    model = EncoderWithRtd(encoder) if preset.config.family == "electra" else EncoderWithMaskedLM(encoder)
    return ImportResult(config=preset.config, model=model, encoder=encoder, report=ImportReport(),
                        do_lower_case=preset.do_lower_case, source_files=[])


def load_source(spec, config_file=None, allow_missing=()):
    """Import `spec` = "hf:<dir>", "tf1:<ckpt prefix or dir>", "tf2:<ckpt prefix or dir>" or "preset:<name>"."""
    kind, sep, location = str(spec).partition(":")
    if not sep or kind not in KINDS or not location:
        raise ValueError(f"source {spec!r} must look like one of: hf:<dir>, tf1:<ckpt prefix>, tf2:<ckpt prefix>, "
                         f"preset:<catalog name>")
    if kind == "preset":
        if config_file is not None:
            raise ValueError("preset: sources take their config from the catalog; drop config_file (--config_file)")
        return load_preset(location)
    location = os.path.expanduser(location)
    if kind == "hf":
        if config_file is not None:
            raise ValueError("hf: sources read config.json from their directory; drop config_file (--config_file)")
        from export.sources import hf

        return hf.load_hf(location, allow_missing=allow_missing)
    if kind == "tf1":
        from export.sources import tf1

        return tf1.load_tf1(location, config_file or _tf1_config_next_to(location), allow_missing=allow_missing)
    from export.sources import tf2

    return tf2.load_tf2(location, config_file, allow_missing=allow_missing)


def detect_format(directory):
    """"hf", "tf1" or "tf2" for a model directory, by the files in it."""
    from export.sources import tf2

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


def load_directory(directory, allow_missing=()):
    """Import a model directory in any supported format (see detect_format)."""
    kind = detect_format(directory)
    return load_source(f"{kind}:{os.fspath(directory)}", allow_missing=allow_missing)
