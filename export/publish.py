"""The versioned hub tree: stage a version, then publish it atomically.

Layout (DESIGN.md):
    <hub_root>/<publisher>/<name>/<N>/                 SavedModel + MANIFEST.json
    <hub_root>/<publisher>/<name>/<N>.tar.gz           the same files at the archive root
    <hub_root>/docs/<publisher>/models/<name>/<N>.md   model card

Everything is written into `<hub_root>/<publisher>/<name>/.tmp-<pid>-<uuid>/` first.
Publishing holds an exclusive `flock` on `<name>/.lock` (released by the kernel even if
the process is killed), links the tarball and the card into place, and then renames the
staged directory to `<N>/`. The rename is the commit point: a version directory exists
only if its tarball and card exist too. Leftovers of a killed export (a `.tmp-*`
directory, or a tarball/card without its version directory) are never taken for a
version; the next publish under the lock removes orphaned tarballs/cards, and
`python -m export --gc` removes stale temp directories.
"""

import contextlib
import dataclasses
import datetime
import fcntl
import hashlib
import json
import os
import pathlib
import platform
import re
import shutil
import tarfile
import threading
import time
import uuid

MANIFEST_NAME = "MANIFEST.json"
TMP_PREFIX = ".tmp-"
LOCK_NAME = ".lock"
_VERSION_DIR = re.compile(r"^[1-9][0-9]*$")
_TARBALL = re.compile(r"^([1-9][0-9]*)\.tar\.gz$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class VersionExistsError(FileExistsError):
    """An explicit --version that is already published (versions are never overwritten)."""


def check_name(kind, value):
    """Publisher and model names become path components; refuse anything else.

    A model name may have several '/'-separated parts, as TF-Hub's had
    (`small_bert/bert_en_uncased_L-2_H-128_A-2`); the publisher has one.
    """
    parts = (value or "").split("/") if kind == "name" else [value or ""]
    if not all(_SAFE_NAME.match(part) for part in parts):
        raise ValueError(
            f"Invalid {kind} {value!r}: use letters, digits, '.', '_' or '-', each part starting "
            "with a letter or digit (it becomes a directory name).")
    return value


def model_dir(hub_root, publisher, name):
    return pathlib.Path(hub_root) / check_name("publisher", publisher) / check_name("name", name)


def card_path(hub_root, publisher, name, version):
    return pathlib.Path(hub_root) / "docs" / publisher / "models" / name / f"{int(version)}.md"


def tarball_path(hub_root, publisher, name, version):
    return model_dir(hub_root, publisher, name) / f"{int(version)}.tar.gz"


def published_versions(hub_root, publisher, name):
    """Sorted version numbers whose directory exists (only complete versions have one)."""
    directory = model_dir(hub_root, publisher, name)
    if not directory.is_dir():
        return []
    return sorted(int(p.name) for p in directory.iterdir() if p.is_dir() and _VERSION_DIR.match(p.name))


def next_version(hub_root, publisher, name):
    """The next free version number (1 for a new model). Only advisory without the lock."""
    versions = published_versions(hub_root, publisher, name)
    return (versions[-1] + 1) if versions else 1


def read_manifest(version_dir):
    with open(pathlib.Path(version_dir) / MANIFEST_NAME) as f:
        return json.load(f)


# ---------------------------------------------------------------------------- manifest


def sha256_file(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


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
    files = {}
    for path in sorted(p for p in version_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(version_dir).as_posix()
        if rel == MANIFEST_NAME:
            continue
        files[rel] = {"sha256": sha256_file(path), "size": path.stat().st_size}
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


def check_manifest(version_dir):
    """Returns the list of problems (missing, changed or unlisted files, each naming the file);
    empty if intact. The one manifest check is official_encoders.resolver's; this only adds
    that a version without MANIFEST.json is a problem here."""
    from official_encoders import resolver

    problems = resolver.manifest_problems(version_dir)
    return [f"{MANIFEST_NAME}: missing"] if problems is None else problems


# ---------------------------------------------------------------------------- tarball


class TarballWriter:
    """Writes a version's `.tar.gz` (files at the archive root) while other work goes on.

    That layout is what tensorflow_hub's compressed resolver expects: it extracts every
    member under the cache directory, accepting only files and directories, and
    directories must come before the files in them. `start()` compresses everything but
    MANIFEST.json in a thread (zlib releases the GIL, so this overlaps verification);
    `finish()` appends MANIFEST.json, written in the meantime, and closes the archive.
    """

    def __init__(self, version_dir, tarball):
        self.version_dir = pathlib.Path(version_dir)
        self.tarball = pathlib.Path(tarball)
        self._thread = None
        self._error = None
        # Float weights hardly compress; level 1 is several times faster than the default 9
        # for nearly the same size.
        self._tar = tarfile.open(self.tarball, "w:gz", compresslevel=1, format=tarfile.PAX_FORMAT)

    def _add_all_but_manifest(self):
        try:
            paths = sorted(self.version_dir.rglob("*"),
                           key=lambda p: (len(p.relative_to(self.version_dir).parts), str(p)))
            for path in paths:
                if path.relative_to(self.version_dir).as_posix() != MANIFEST_NAME:
                    self._tar.add(path, arcname=path.relative_to(self.version_dir).as_posix(), recursive=False)
        except BaseException as error:  # re-raised by finish()
            self._error = error

    def start(self):
        self._thread = threading.Thread(target=self._add_all_but_manifest, name="tarball", daemon=True)
        self._thread.start()
        return self

    def wait(self):
        if self._thread is not None:
            self._thread.join()

    def finish(self):
        if self._thread is None:
            self._add_all_but_manifest()
        self.wait()
        try:
            if self._error is not None:
                raise self._error
            manifest = self.version_dir / MANIFEST_NAME
            if manifest.is_file():
                self._tar.add(manifest, arcname=MANIFEST_NAME, recursive=False)
        finally:
            self._tar.close()
        return self.tarball


def make_tarball(version_dir, tarball):
    """Writes `tarball` (.tar.gz) with the files of `version_dir` at the archive root."""
    return TarballWriter(version_dir, tarball).finish()


def _fsync_tree(root):
    for path in pathlib.Path(root).rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


# ---------------------------------------------------------------------------- staging


@dataclasses.dataclass
class PublishedVersion:
    publisher: str
    name: str
    version: int
    path: pathlib.Path
    tarball: pathlib.Path
    card: pathlib.Path | None

    @property
    def handle(self):
        return str(self.path)


@contextlib.contextmanager
def _model_lock(directory):
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK_NAME, "a+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class StagedVersion:
    """A version being written under a temp directory of its model; see `stage_version`."""

    def __init__(self, hub_root, publisher, name):
        self.hub_root = pathlib.Path(hub_root)
        self.publisher = publisher
        self.name = name
        self.model_dir = model_dir(hub_root, publisher, name)
        self.model_dir.mkdir(parents=True, exist_ok=True)
        (self.model_dir / LOCK_NAME).touch()  # marks a model directory (gc looks for it)
        self.tmp_dir = self.model_dir / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}"
        self.tmp_dir.mkdir()
        self.path = self.tmp_dir / "version"  # the future <N>/; the caller writes into it
        self.published = None
        self._tarball = None

    def start_tarball(self):
        """Starts compressing the saved files in the background; call once the SavedModel is
        complete (only MANIFEST.json may be written afterwards)."""
        self._fix_modes()
        self._tarball = TarballWriter(self.path, self.tmp_dir / "version.tar.gz").start()

    def _fix_modes(self):
        for directory in [self.path, *(p for p in self.path.rglob("*") if p.is_dir())]:
            directory.chmod(0o755)  # mkdtemp (used by some savers) makes 0700 directories

    def cleanup(self):
        if self._tarball is not None:
            self._tarball.wait()
        shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def check_version_free(self, version):
        """Raises VersionExistsError if `version` is already published."""
        if (self.model_dir / str(int(version))).exists():
            raise VersionExistsError(
                f"{self.publisher}/{self.name} version {int(version)} already exists in "
                f"{self.model_dir}; published versions are never overwritten. Leave --version "
                "unset to take the next free number, or pick another.")

    def publish(self, version=None, render_card=None, before_commit=None, progress=None):
        """Moves the staged version into place as `version` (default: the next free one).

        `render_card(version) -> str` writes the model card (it is called under the
        lock, so it can read earlier versions' manifests for the changelog).
        `before_commit(version)` runs under the lock once the number is fixed, before the
        card is rendered; the encoder export publishes its companion preprocessor there,
        so each card can name the other's exact version.
        """
        if self.published is not None:
            raise RuntimeError("This staged version is already published.")
        if not (self.path / "saved_model.pb").is_file():
            raise FileNotFoundError(f"Nothing to publish: no saved_model.pb in {self.path}.")
        if version is not None:
            if int(version) < 1:
                raise ValueError(f"--version must be a positive integer, got {version}.")
            self.check_version_free(version)
        if self._tarball is None:
            self._fix_modes()
            self._tarball = TarballWriter(self.path, self.tmp_dir / "version.tar.gz")
        if progress:
            progress(f"compressing {self.publisher}/{self.name} into a .tar.gz")
        staged_tar = self._tarball.finish()
        _fsync_tree(self.tmp_dir)
        with _model_lock(self.model_dir):
            number = int(version) if version is not None else next_version(self.hub_root, self.publisher, self.name)
            self.check_version_free(number)
            tar_dst = tarball_path(self.hub_root, self.publisher, self.name, number)
            card_dst = card_path(self.hub_root, self.publisher, self.name, number)
            # Under the lock, a tarball/card without its version directory can only be
            # the remains of a killed export: remove it and take its place.
            for orphan in (tar_dst, card_dst):
                if orphan.exists():
                    orphan.unlink()
            if before_commit is not None:
                before_commit(number)
            linked = []
            try:
                os.link(staged_tar, tar_dst)
                linked.append(tar_dst)
                if render_card is not None:
                    card_dst.parent.mkdir(parents=True, exist_ok=True)
                    staged_card = self.tmp_dir / "card.md"
                    staged_card.write_text(render_card(number))
                    os.link(staged_card, card_dst)
                    linked.append(card_dst)
                os.rename(self.path, self.model_dir / str(number))  # the commit point
            except BaseException:
                for path in linked:
                    path.unlink(missing_ok=True)
                raise
        self.cleanup()
        self.published = PublishedVersion(
            self.publisher, self.name, number, self.model_dir / str(number), tar_dst,
            card_dst if render_card is not None else None)
        return self.published


@contextlib.contextmanager
def stage_version(hub_root, publisher, name):
    """Yields a StagedVersion; its temp directory is removed on exit whatever happens.

        with stage_version(root, "local", "bert_en_uncased_L-2_H-16_A-2") as staged:
            save_encoder_model(module, staged.path)
            write_manifest(staged.path, ...)
            staged.publish(render_card=...)
    """
    staged = StagedVersion(hub_root, publisher, name)
    try:
        yield staged
    finally:
        staged.cleanup()


def publish_version(hub_root, publisher, name, write, *, version=None, render_card=None,
                    manifest=None):
    """Stages, writes and atomically publishes one version; returns its PublishedVersion.

    `write(path)` writes the SavedModel into `path`; `manifest` (keyword arguments of
    write_manifest) adds MANIFEST.json. If anything raises, nothing is published.
    """
    with stage_version(hub_root, publisher, name) as staged:
        write(staged.path)
        if manifest is not None:
            write_manifest(staged.path, **manifest)
        return staged.publish(version=version, render_card=render_card)


# ---------------------------------------------------------------------------- garbage


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_stray(hub_root, older_than_seconds=3600.0):
    """Temp directories and orphaned tarballs/cards left by killed exports.

    A temp directory counts when it is older than the threshold and the process
    that made it (its name carries the pid) is gone. Returns a list of paths.
    """
    hub_root = pathlib.Path(hub_root)
    now = time.time()
    stray = []
    if not hub_root.is_dir():
        return stray
    for lock in sorted(hub_root.rglob(LOCK_NAME)):
        model = lock.parent  # every model directory has the publish lock file
        relative = model.relative_to(hub_root).parts
        if relative[0] == "docs" or len(relative) < 2:
            continue
        for entry in sorted(model.iterdir()):
            age = now - entry.lstat().st_mtime
            if age < older_than_seconds:
                continue
            if entry.name.startswith(TMP_PREFIX):
                pid = entry.name[len(TMP_PREFIX):].split("-", 1)[0]
                if not (pid.isdigit() and _pid_alive(int(pid))):
                    stray.append(entry)
            elif (m := _TARBALL.match(entry.name)) and not (model / m.group(1)).is_dir():
                stray.append(entry)
        docs = hub_root / "docs" / relative[0] / "models" / pathlib.Path(*relative[1:])
        if docs.is_dir():
            for card in sorted(docs.glob("*.md")):
                if (card.stem.isdigit() and not (model / card.stem).is_dir()
                        and now - card.stat().st_mtime >= older_than_seconds):
                    stray.append(card)
    return stray


def remove_stray(paths):
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def directory_size(path):
    path = pathlib.Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
