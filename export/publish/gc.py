"""Finds and removes what killed exports left behind (`python -m export --gc`)."""

import os
import pathlib
import shutil
import time

from export.publish.staging import TMP_PREFIX
from official_encoders.hub.layout import DOCS_DIR, LOCK_NAME, TARBALL


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
        if relative[0] == DOCS_DIR or len(relative) < 2:
            continue
        for entry in sorted(model.iterdir()):
            age = now - entry.lstat().st_mtime
            if age < older_than_seconds:
                continue
            if entry.name.startswith(TMP_PREFIX):
                pid = entry.name[len(TMP_PREFIX):].split("-", 1)[0]
                if not (pid.isdigit() and _pid_alive(int(pid))):
                    stray.append(entry)
            elif (m := TARBALL.match(entry.name)) and not (model / m.group(1)).is_dir():
                stray.append(entry)
        docs = hub_root / DOCS_DIR / relative[0] / "models" / pathlib.Path(*relative[1:])
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
