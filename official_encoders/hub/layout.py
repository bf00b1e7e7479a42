"""Where things live in a hub tree; publishing writes this layout, the HTTP hub serves it.

    <hub_root>/<publisher>/<name>/<N>/                 SavedModel + MANIFEST.json
    <hub_root>/<publisher>/<name>/<N>.tar.gz           the same files at the archive root
    <hub_root>/docs/<publisher>/models/<name>/<N>.md   model card

A model name may have several '/'-separated parts, as TF-Hub's had
(`small_bert/bert_en_uncased_L-2_H-128_A-2`); the publisher has one.
"""

import pathlib
import re
import unicodedata

NAME_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
VERSION = re.compile(r"^[1-9][0-9]{0,8}$")
TARBALL = re.compile(r"^([1-9][0-9]{0,8})\.tar\.gz$")
DOCS_DIR = "docs"
LOCK_NAME = ".lock"


def check_name(kind, value):
    """Publisher and model names become path components; refuse anything else."""
    parts = (value or "").split("/") if kind == "name" else [value or ""]
    if not all(NAME_PART.match(part) for part in parts):
        raise ValueError(
            f"Invalid {kind} {value!r}: use letters, digits, '.', '_' or '-', each part starting "
            "with a letter or digit (it becomes a directory name).")
    return value


def hub_style_name(identity):
    """The default model name for a source identity: its last '/' part in the hub's style.

    The organisation (the part before the last '/') is dropped, as TF-Hub names
    carry none: the publisher directory says who published it. Letters are
    lower-cased and stripped of accents; every run of other characters ('-', '.',
    '_', spaces) becomes one '_'.

    Args:
      identity: a Hugging Face model id ("org/name" or "name") or a directory name.

    Returns:
      A name of `[a-z0-9_]`, starting and ending with a letter or digit.

    Raises:
      ValueError: when nothing of `identity` is left, asking for an explicit name.

    Example:
    >>> from official_encoders.hub.layout import hub_style_name
    >>> hub_style_name("sentence-transformers/all-MiniLM-L6-v2")
    'all_minilm_l6_v2'
    >>> hub_style_name("uncased_L-12_H-768_A-12")
    'uncased_l_12_h_768_a_12'
    """
    last = str(identity).strip().rstrip("/").rsplit("/", 1)[-1]
    ascii_text = unicodedata.normalize("NFKD", last).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    if not name:
        raise ValueError(f"The source's identity {identity!r} has no letters or digits to name the model "
                         "after; pass a name (--name=<name>, letters, digits and '_').")
    return name


def model_dir(hub_root, publisher, name):
    return pathlib.Path(hub_root) / check_name("publisher", publisher) / check_name("name", name)


def card_path(hub_root, publisher, name, version):
    return pathlib.Path(hub_root) / DOCS_DIR / publisher / "models" / name / f"{int(version)}.md"


def tarball_path(hub_root, publisher, name, version):
    return model_dir(hub_root, publisher, name) / f"{int(version)}.tar.gz"


def published_versions(hub_root, publisher, name):
    """Sorted version numbers whose directory exists (only complete versions have one)."""
    directory = model_dir(hub_root, publisher, name)
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.is_dir() and VERSION.match(p.name))


def latest_version_dir(hub_root, publisher, name):
    """The newest published version's directory, or None."""
    versions = published_versions(hub_root, publisher, name)
    return model_dir(hub_root, publisher, name) / str(versions[-1]) if versions else None
