"""The one way to put a directory in place atomically: write it elsewhere on the same
filesystem, then rename it over an absent or empty target (`commit_directory`)."""

import contextlib
import os
import pathlib
import shutil
import tempfile


def commit_directory(staging, target):
    """Renames the finished directory `staging` to `target`, the commit point of every writer.

    An existing non-empty `target` is refused, never overwritten; an empty one is replaced.
    `staging` must be on the same filesystem (a sibling, or a directory next to it).
    """
    target = pathlib.Path(target)
    _refuse_non_empty(target)
    if target.is_dir():
        target.rmdir()
    os.rename(staging, target)
    return target


@contextlib.contextmanager
def atomic_directory(target, prefix=".partial-"):
    """Yields a temporary sibling of `target` to write into; on success it becomes `target`.

    The staging directory is removed if the body raises, so a failure leaves
    nothing half-written.

        with atomic_directory(out) as staging:
            tf.saved_model.save(module, str(staging))
    """
    target = pathlib.Path(os.path.abspath(os.fspath(target)))
    _refuse_non_empty(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f"{prefix}{target.name}-", dir=target.parent))
    try:
        yield staging
        staging.chmod(0o755)  # mkdtemp makes it 0700; the result should read like any directory
        commit_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _refuse_non_empty(target):
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} exists and is not empty; choose a new directory (written "
                              "directories and published models are never overwritten).")


@contextlib.contextmanager
def atomic_file(target):
    """Yields a temporary path next to `target` to write; on success it replaces `target`.

    Readers see the old file or the whole new one, never a part; if the body
    raises, the temporary file is removed.
    """
    target = pathlib.Path(os.path.abspath(os.fspath(target)))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".partial-{target.name}-", dir=target.parent)
    os.close(fd)
    try:
        yield pathlib.Path(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
