"""Writes MANIFEST.json (the format is official_encoders.hub.manifest's): file hashes plus provenance."""

import datetime
import json
import os
import pathlib
import platform

from official_encoders.hub.manifest import MANIFEST_NAME, file_entries, sha256_file


def package_versions():
    """Versions of the packages that wrote (and are needed to read) an artifact."""
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("official-encoders", "tensorflow", "tensorflow-text", "tensorflow-hub",
                 "tf-keras", "keras", "sentencepiece"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def source_record(kind, identity, files, root=None):
    """The `source` entry of a manifest: what the weights came from, by identity and file hashes.

    No machine path is recorded: `files` maps each file's name relative to `root`
    (the source directory), or its base name when it lies elsewhere (e.g. a
    --config_file), to its sha256.

    Args:
      kind: the source spec's kind ("hf", "tf1", "tf2", "preset").
      identity: what the source calls itself (a SourceIdentity, a string, or None).
      files: paths of the source files that were read.
      root: the source directory the names are relative to.

    Example:

        source_record("hf", SourceIdentity("sentence-transformers/all-MiniLM-L6-v2", "README.md"),
                      ["/models/minilm/model.safetensors"], root="/models/minilm")
        # {"kind": "hf", "identity": "sentence-transformers/all-MiniLM-L6-v2",
        #  "identity_from": "README.md", "files": {"model.safetensors": "<sha256>"}}
    """
    root = pathlib.Path(os.path.abspath(root)) if root is not None else None
    named = {}
    for path in files or ():
        path = pathlib.Path(os.path.abspath(path))
        inside = root is not None and path.is_relative_to(root)
        named[path.relative_to(root).as_posix() if inside else path.name] = sha256_file(path)
    return {
        "kind": kind,
        "identity": getattr(identity, "id", identity),
        "identity_from": getattr(identity, "read_from", None),
        "files": named,
    }


def write_manifest(version_dir, *, artifact, source, config=None, verification=None,
                   changelog=None, extra=None):
    """Writes MANIFEST.json: sha256 and size of every other file, plus provenance.

    `files` maps each path relative to the version directory to {"sha256", "size"};
    readers (e.g. official_encoders.resolve) check a download against it.
    """
    version_dir = pathlib.Path(version_dir)
    files = file_entries(version_dir)
    manifest = {
        "format": "saved_model_2",
        "artifact": artifact,
        "files": files,
        "source": source,
        "config": config,
        "versions": package_versions(),
        "exported_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "verification": verification,
        "changelog": changelog,
    }
    manifest.update(extra or {})
    with open(version_dir / MANIFEST_NAME, "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    return manifest
