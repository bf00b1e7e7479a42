"""The `.tar.gz` of a version, written while verification runs."""

import pathlib
import tarfile
import threading

from official_encoders.hub.manifest import MANIFEST_NAME


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
