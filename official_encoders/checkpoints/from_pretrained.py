"""from_pretrained: an encoder from a local directory or a catalog name. Nothing is downloaded.

A name is looked up as `<root>/<name>/` under, in order: the `cache_dir`
argument, the `OFFICIAL_ENCODERS_CACHE` environment variable, and
`~/.cache/official_encoders`. Catalog names, their Hugging Face aliases and
any other directory name all work; a catalog alias also finds the entry
stored under the catalog's TF-Hub-style name.

Reading files is the job of `official_encoders.checkpoints.sources`; this
module only decides where to look (`find_pretrained`, distinct from the hub-handle
`official_encoders.resolve`).
"""

import logging
import os
import pathlib

from official_encoders.checkpoints.sources import load_directory
from official_encoders.models import presets

logger = logging.getLogger(__name__)

CACHE_ENV = "OFFICIAL_ENCODERS_CACHE"
DEFAULT_CACHE = pathlib.Path("~/.cache/official_encoders")


def cache_roots(cache_dir=None):
    """The directories searched for a name, in order of precedence."""
    roots = []
    if cache_dir is not None:
        roots.append(pathlib.Path(cache_dir).expanduser())
    if os.environ.get(CACHE_ENV):
        roots.append(pathlib.Path(os.environ[CACHE_ENV]).expanduser())
    roots.append(DEFAULT_CACHE.expanduser())
    return roots


def _candidate_names(name):
    """The name itself, plus the catalog's TF-Hub-style name and aliases for the same entry."""
    names = [name]
    try:
        preset = presets.get_preset(name)
    except KeyError:
        return names
    for other in (preset.name,) + preset.hf_aliases:
        if other not in names:
            names.append(other)
    return names


def find_pretrained(name_or_path, cache_dir=None):
    """The local directory for `name_or_path`; raises FileNotFoundError saying how to fill the cache."""
    path = pathlib.Path(os.fspath(name_or_path)).expanduser()
    if path.is_dir():
        return path
    name = os.fspath(name_or_path)
    looked = []
    for root in cache_roots(cache_dir):
        for candidate in _candidate_names(name):
            directory = root / candidate
            looked.append(str(directory))
            if directory.is_dir() and any(directory.iterdir()):
                return directory
    raise FileNotFoundError(_not_found_message(name, looked, cache_roots(cache_dir)[0]))


def _not_found_message(name, looked, first_root):
    try:
        preset = presets.get_preset(name)
    except KeyError as e:
        known = f"{name!r} is neither a local directory nor a catalog name ({e.args[0]})"
        target = first_root / name
        hf_hint = "<a Hugging Face checkpoint directory>"
    else:
        known = f"{name!r} is the catalog entry {preset.name!r}, but its weights are not on disk"
        target = first_root / preset.name
        hf_hint = (f"<your local copy of Hugging Face {preset.hf_aliases[0]!r}>" if preset.hf_aliases
                   else "<a Hugging Face checkpoint directory>")
        if preset.task is not None:  # a fine-tuned entry: keep its head
            hf_hint += " --task=auto"
    return (
        f"{known}. Looked in: {', '.join(looked)}. Nothing is downloaded. Convert weights you have "
        f"into the cache with the export CLI:\n"
        f"  python -m export.convert --source=hf:{hf_hint} --output_dir={target}\n"
        f"  python -m export.convert --source=tf1:<ckpt prefix> --config_file=<bert_config.json> "
        f"--output_dir={target}\n"
        f"or copy a Hugging Face, sentence-transformers or google-research TF1 directory (with its "
        f"bert_config.json) to {target}. Set {CACHE_ENV} or pass cache_dir= to use another cache."
    )


def from_pretrained(name_or_path, cache_dir=None, task=None, num_labels=None, id2label=None):
    """The encoder, or a task model, (a Keras 3 model callable on the input dict) with its weights loaded.

    Nothing is downloaded: a name must already be in a cache root (see the module
    docstring and `find_pretrained`).

    Args:
      name_or_path: a directory in any supported format (Hugging Face or
        sentence-transformers, google-research TF1 with bert_config.json, or ours
        as written by `official_encoders.checkpoints.tf2.save_pretrained`), or a
        catalog name, alias or directory name looked up in the cache roots.
      cache_dir: the first cache root to search, before `$OFFICIAL_ENCODERS_CACHE`
        and `~/.cache/official_encoders`.
      task: None for the encoder (a task checkpoint's head is then reported unused);
        "auto" for the task the source declares (Hugging Face `architectures`, or
        the task our save_pretrained stored); or one of
        `official_encoders.tasks.TASKS`. A source without that head is an error
        naming it, unless `num_labels` asks for a fresh head.
      num_labels: the number of classes of a freshly initialised head (a loaded head
        keeps its own, and must agree if this is given).
      id2label: optional {id: name} label names for the task model.

    Returns:
      The encoder, or the task model (its `.encoder` is the encoder). What was
      loaded, missing or unused is logged; use
      `official_encoders.checkpoints.load_directory` to get the import report, the
      pretraining head and the vocabulary too.

    Example:
    >>> encoder = official_encoders.from_pretrained("/models/all-MiniLM-L6-v2")  # doctest: +SKIP
    >>> encoder(preprocess(["a sentence"]))["sequence_output"].shape  # doctest: +SKIP
    TensorShape([1, 128, 384])
    >>> qa = official_encoders.from_pretrained(  # doctest: +SKIP
    ...     "bert-large-uncased-whole-word-masking-finetuned-squad", task="auto")
    >>> sorted(qa(features))  # doctest: +SKIP
    ['end_logits', 'start_logits']
    """
    result = load_directory(find_pretrained(name_or_path, cache_dir), task=task, num_labels=num_labels,
                            id2label=id2label)
    report = result.report
    if report.missing or report.unused:
        logger.warning("from_pretrained(%s): %s", os.fspath(name_or_path), report.summary())
    return result.encoder if task is None else result.task_model

