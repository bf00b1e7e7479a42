"""Writes MANIFEST.json (the format is official_encoders.hub.manifest's): file hashes plus provenance."""

import datetime
import json
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


def source_record(kind, path, files):
    """The `source` entry of a manifest: where the weights came from, with file hashes."""
    return {
        "kind": kind,
        "path": str(path) if path is not None else None,
        "files": {str(f): sha256_file(f) for f in files or ()},
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
