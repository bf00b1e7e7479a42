"""MANIFEST.json, the one manifest format: what publishing writes and what resolving checks.

A manifest lists every other file of a version directory with its sha256 and
size (`files`), plus the provenance that publishing adds. `manifest_problems` and
`check_integrity` are the hash check, distinct from the reload-parity
verification run before publishing.
"""

import hashlib
import json
import pathlib

MANIFEST_NAME = "MANIFEST.json"


class IntegrityError(OSError):
    """A model directory does not match its MANIFEST.json (or has none when one is required)."""


def sha256_file(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_entries(directory):
    """{relative path: {"sha256", "size"}} for every file of `directory` but the manifest."""
    directory = pathlib.Path(directory)
    entries = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).as_posix()
        if rel != MANIFEST_NAME:
            entries[rel] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    return entries


def read_manifest(version_dir):
    with open(pathlib.Path(version_dir) / MANIFEST_NAME, encoding="utf-8") as f:
        return json.load(f)


def manifest_problems(directory, require=False):
    """Everything wrong with `directory` against its MANIFEST.json, each naming the file; [] if intact.

    Without a MANIFEST.json: None, or `["MANIFEST.json: missing"]` when `require`.
    """
    directory = pathlib.Path(directory)
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.is_file():
        return [f"{MANIFEST_NAME}: missing"] if require else None
    try:
        listed = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
        if not isinstance(listed, dict):
            raise TypeError("'files' is not an object")
    except (ValueError, KeyError, TypeError) as error:
        return [f"{MANIFEST_NAME}: unreadable ({error})"]
    problems = []
    for rel, entry in sorted(listed.items()):
        expected_sha = entry if isinstance(entry, str) else entry.get("sha256")
        expected_size = None if isinstance(entry, str) else entry.get("size")
        parts = rel.split("/")
        if rel.startswith("/") or ".." in parts or "\\" in rel:
            problems.append(f"{rel}: unsafe path in {MANIFEST_NAME}")
            continue
        path = directory.joinpath(*parts)
        if not path.is_file() or path.is_symlink():
            problems.append(f"{rel}: missing")
        elif expected_size is not None and path.stat().st_size != expected_size:
            problems.append(f"{rel}: size {path.stat().st_size}, expected {expected_size}")
        elif (actual := sha256_file(path)) != expected_sha:
            problems.append(f"{rel}: sha256 {actual}, expected {expected_sha}")
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if (path.is_file() or path.is_symlink()) and rel != MANIFEST_NAME and rel not in listed:
            problems.append(f"{rel}: not listed in {MANIFEST_NAME}")
    return problems


def check_integrity(directory, handle=None, require_manifest=False):
    """Raises IntegrityError naming each file of `directory` that fails its MANIFEST.json.

    Returns True when checked, False when there is no manifest and none is required.
    """
    problems = manifest_problems(directory)
    where = f"{handle} ({directory})" if handle and handle != str(directory) else str(directory)
    if problems is None:
        if require_manifest:
            raise IntegrityError(f"{where}: no {MANIFEST_NAME}, so its files cannot be checked.")
        return False
    if problems:
        raise IntegrityError(
            f"{where} does not match its {MANIFEST_NAME}: " + "; ".join(problems)
            + ". Re-download or re-export it.")
    return True
