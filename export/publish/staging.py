"""Stage a version in a temp directory of its model, then publish it atomically under a lock.

Everything is written into `<hub_root>/<publisher>/<name>/.tmp-<pid>-<uuid>/` first.
Publishing holds an exclusive `flock` on `<name>/.lock` (released by the kernel even if
the process is killed), links the tarball and the card into place, and then renames the
staged directory to `<N>/` (official_encoders.fileio.atomic.commit_directory). The rename
is the commit point: a version directory exists only if its tarball and card exist too.
Leftovers of a killed export are never taken for a version; the next publish under the
lock removes orphaned tarballs/cards, and `python -m export --gc` (export.publish.gc)
removes stale temp directories.
"""

import contextlib
import dataclasses
import fcntl
import os
import pathlib
import shutil
import uuid

from export.publish.tarball import TarballWriter
from official_encoders.fileio.atomic import commit_directory
from official_encoders.hub.layout import LOCK_NAME, card_path, model_dir, published_versions, tarball_path

TMP_PREFIX = ".tmp-"


class VersionExistsError(FileExistsError):
    """An explicit --version that is already published (versions are never overwritten)."""


def next_version(hub_root, publisher, name):
    """The next free version number (1 for a new model). Only advisory without the lock."""
    versions = published_versions(hub_root, publisher, name)
    return (versions[-1] + 1) if versions else 1


def _fsync_tree(root):
    for path in pathlib.Path(root).rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


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
                commit_directory(self.path, self.model_dir / str(number))  # the commit point
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


def directory_size(path):
    """Bytes of a file, or of every file below a directory."""
    path = pathlib.Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
