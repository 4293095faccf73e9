"""Writing a small file so that a crash, even SIGKILL or a power cut, leaves the old or the new
version whole, never half of one: the state files the server resumes from (jobs.json, the outbox,
the upload spool's manifests, the deletion schedule) and the metamodel file it reloads are all
written this way. Top level, like appconfig.py, because server/ and metamodel/ both use it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str, mode: int | None = None) -> None:
    """Replace `path` with `text` (UTF-8): temp file in the same folder, fsync, rename, fsync folder.

    The file is private to its owner (0600) unless `mode` says otherwise.

    The rename alone is atomic only once the data is on disk; without the first fsync a crash
    may leave a renamed but empty file. The folder's fsync makes the rename itself durable.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some filesystems do not open folders; the data itself is already synced
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
