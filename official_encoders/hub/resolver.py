"""official_encoders.resolve(handle) -> a local, integrity-checked SavedModel directory.

Handles:

- a local directory: returned as is, after checking its MANIFEST.json (if any);
- an http(s) URL served in the TF-Hub compressed format (e.g. by
  `python -m export.serve`): downloaded into the same cache as tensorflow_hub
  (`$TFHUB_CACHE_DIR`, else `<tmp>/tfhub_modules`; one directory per handle named
  by the SHA-1 of the handle string), unpacked with `archive.safe_extract`, and
  checked against MANIFEST.json before it is moved into place;
- anything else tensorflow_hub can resolve (tfhub.dev/Kaggle, gs://): handed to
  `tensorflow_hub.resolve`, then checked.

Where tensorflow_hub trusts any non-empty cache directory, `resolve` checks every
sha256 and size listed in MANIFEST.json each time. A corrupt or partial cache
entry is removed and fetched again; a download that fails the check raises
`IntegrityError` naming the file.
"""

import gzip
import hashlib
import logging
import os
import shutil
import socket
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib

from official_encoders.fileio.atomic import commit_directory
from official_encoders.hub import archive
from official_encoders.hub.manifest import MANIFEST_NAME, IntegrityError, check_integrity, manifest_problems

_DELEGATED_HOSTS = ("tfhub.dev", "www.kaggle.com", "kaggle.com", "hub.tensorflow.google.cn")
_LOCK_TIMEOUT_SECONDS = 600.0

log = logging.getLogger(__name__)


def cache_dir():
    """tensorflow_hub's cache location: $TFHUB_CACHE_DIR, --tfhub_cache_dir, else <tmp>/tfhub_modules."""
    configured = os.environ.get("TFHUB_CACHE_DIR")
    if not configured:
        try:
            from absl import flags

            configured = flags.FLAGS["tfhub_cache_dir"].value
        except (KeyError, ImportError):
            configured = None
    return configured or os.path.join(tempfile.gettempdir(), "tfhub_modules")


def cache_entry(handle):
    """The directory tensorflow_hub (and resolve) uses for `handle`."""
    return os.path.join(cache_dir(), hashlib.sha1(handle.encode("utf8")).hexdigest())


def resolve(handle, require_manifest=False, timeout=60.0, max_bytes=archive.DEFAULT_MAX_BYTES):
    """Returns a local directory holding the SavedModel for `handle`, integrity-checked.

    Args:
      handle: local path, http(s) URL of a TF-Hub-style compressed model, or any
        handle tensorflow_hub resolves.
      require_manifest: refuse models that have no MANIFEST.json.
      timeout: socket timeout in seconds for downloads.
      max_bytes: largest decompressed size accepted for a download.
    """
    handle = os.fspath(handle)
    if os.path.isdir(handle):
        check_integrity(handle, require_manifest=require_manifest)
        return handle
    parsed = urllib.parse.urlsplit(handle)
    if parsed.scheme in ("http", "https") and parsed.hostname not in _DELEGATED_HOSTS:
        return _resolve_http(handle, require_manifest, timeout, max_bytes)
    if parsed.scheme in ("", "file") and not parsed.netloc and "://" not in handle:
        if not os.path.exists(handle):
            raise FileNotFoundError(
                f"{handle} does not exist. Pass a SavedModel directory, an http(s) URL "
                "or a tensorflow_hub handle.")
    import tensorflow_hub

    path = tensorflow_hub.resolve(handle)
    check_integrity(path, handle, require_manifest)
    return path


def _entry_state(directory, require_manifest):
    """'missing', 'ok', or a description of why the cache entry cannot be used."""
    if not os.path.isdir(directory) or not os.listdir(directory):
        return "missing"
    problems = manifest_problems(directory)
    if problems is None:
        return f"no {MANIFEST_NAME}" if require_manifest else "ok"
    return "; ".join(problems) if problems else "ok"


def _resolve_http(handle, require_manifest, timeout, max_bytes):
    module_dir = cache_entry(handle)
    state = _entry_state(module_dir, require_manifest)
    if state == "ok":
        return module_dir
    os.makedirs(cache_dir(), exist_ok=True)
    with _CacheLock(module_dir) as lock:
        state = _entry_state(module_dir, require_manifest)  # another process may have fixed it
        if state == "ok":
            return module_dir
        if state != "missing":
            log.warning("Cache entry %s for %s is damaged (%s); fetching it again.",
                        module_dir, handle, state)
            _remove_tree(module_dir)
        tmp_dir = f"{module_dir}.{lock.uid}.tmp"
        try:
            _download(handle, tmp_dir, timeout, max_bytes)
            check_integrity(tmp_dir, handle, require_manifest)
            _write_descriptor(handle, module_dir)
            commit_directory(tmp_dir, module_dir)
        finally:
            _remove_tree(tmp_dir)
    return module_dir


def _download(handle, tmp_dir, timeout, max_bytes):
    parsed = urllib.parse.urlsplit(handle)
    query = urllib.parse.parse_qsl(parsed.query) + [("tf-hub-format", "compressed")]
    url = urllib.parse.urlunsplit(parsed._replace(query=urllib.parse.urlencode(query)))
    log.info("Downloading %s", handle)
    started = time.time()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            written = archive.safe_extract(response, tmp_dir, max_bytes=max_bytes)
    except urllib.error.HTTPError as error:
        raise OSError(f"Downloading {handle} failed: HTTP {error.code} {error.reason}.") from error
    except archive.UnsafeArchiveError as error:
        raise archive.UnsafeArchiveError(f"{handle}: refused the download: {error}") from error
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, socket.timeout,
            ConnectionError) as error:
        raise OSError(f"Downloading {handle} failed: the archive is incomplete or not a "
                      f"tar.gz ({type(error).__name__}: {error}).") from error
    log.info("Downloaded %s: %d files in %.1fs", handle, len(written), time.time() - started)


def _write_descriptor(handle, module_dir):
    """The same human-readable note tensorflow_hub leaves next to a cache entry."""
    text = (f"Module: {handle}\nDownload Time: {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
            f"Downloader Hostname: {socket.gethostname()} (PID:{os.getpid()})")
    tmp = f"{module_dir}.descriptor.txt.{uuid.uuid4().hex}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, f"{module_dir}.descriptor.txt")


def _remove_tree(path):
    if os.path.isdir(path) and not os.path.islink(path):
        doomed = f"{path}.{uuid.uuid4().hex}.removing"
        try:
            os.rename(path, doomed)  # vanish at once for other readers
        except OSError:
            doomed = path
        shutil.rmtree(doomed, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


class _CacheLock:
    """tensorflow_hub's `<entry>.lock` protocol: create exclusively, wait while another holds it."""

    def __init__(self, module_dir):
        self.path = f"{module_dir}.lock"
        # tensorflow_hub reads the last field as the id of the `<entry>.<id>.tmp` directory.
        self.uid = uuid.uuid4().hex
        self.contents = f"{socket.gethostname()}.{os.getpid()}.{self.uid}"

    def __enter__(self):
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                try:
                    age = time.time() - os.stat(self.path).st_mtime
                except FileNotFoundError:
                    continue
                if age > _LOCK_TIMEOUT_SECONDS:
                    log.warning("Removing stale lock %s (%.0fs old).", self.path, age)
                    _remove_tree(self.path)
                else:
                    time.sleep(0.2)
                continue
            with os.fdopen(fd, "w") as f:
                f.write(self.contents)
            return self

    def __exit__(self, *exc):
        try:
            with open(self.path) as f:
                mine = f.read() == self.contents
            if mine:
                os.remove(self.path)
        except FileNotFoundError:
            pass
        return False


__all__ = ["resolve", "cache_dir", "cache_entry", "IntegrityError"]
