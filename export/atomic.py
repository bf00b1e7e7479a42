"""The one way to write a directory atomically: stage it in a hidden sibling, rename it into place."""

import contextlib
import os
import pathlib
import shutil
import tempfile


@contextlib.contextmanager
def atomic_directory(target, prefix=".partial-"):
    """Yields a temporary sibling of `target` to write into; on success it becomes `target`.

    The staging directory lives next to `target` (same filesystem, so the final
    `os.rename` is atomic) and is removed if the body raises, so a failure leaves
    nothing half-written. An existing non-empty `target` is refused, never
    overwritten; an empty one is replaced.

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
        _refuse_non_empty(target)  # someone may have written it meanwhile
        if target.exists():
            target.rmdir()
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _refuse_non_empty(target):
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} exists and is not empty; choose a new directory (written "
                              "directories and published models are never overwritten).")
