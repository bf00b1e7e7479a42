"""Where things live in a hub tree; publishing writes this layout, the HTTP hub serves it.

    <hub_root>/<publisher>/<name>/<N>/                 SavedModel + MANIFEST.json
    <hub_root>/<publisher>/<name>/<N>.tar.gz           the same files at the archive root
    <hub_root>/docs/<publisher>/models/<name>/<N>.md   model card

A model name may have several '/'-separated parts, as TF-Hub's had
(`small_bert/bert_en_uncased_L-2_H-128_A-2`); the publisher has one.
"""

import pathlib
import re

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
