"""Where highlight clips and thumbnails are kept, behind one small interface.

The default backend is a local folder that the server itself serves under /media/; a Google
Cloud Storage backend for production plugs in behind the same two methods.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path, PurePosixPath
from typing import Protocol

log = logging.getLogger(__name__)


class StorageError(Exception):
    """Raised by a storage backend when a file cannot be stored or removed."""


class Storage(Protocol):
    def put(self, local_path: Path, key: str, content_type: str) -> str:
        """Store a file under `key` ("<stream_id>/<name>") and return its public URL."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix`; return how many."""


def _safe_key(key: str) -> PurePosixPath:
    path = PurePosixPath(key)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise StorageError(f"unsafe storage key {key!r}")
    return path


class LocalStorage:
    """Files in `root`, served at `base_url` (the server's /media/ route by default)."""

    def __init__(self, root: Path, base_url: str):
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")

    def put(self, local_path: Path, key: str, content_type: str) -> str:
        target = self.root / _safe_key(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            shutil.copyfile(local_path, partial)
            partial.replace(target)  # readers never see half a clip
        except OSError as exc:
            raise StorageError(f"cannot store {key}: {exc.strerror or exc}") from exc
        return f"{self.base_url}/{_safe_key(key)}"

    def delete_prefix(self, prefix: str) -> int:
        folder = self.root / _safe_key(prefix.rstrip("/"))
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        shutil.rmtree(folder, ignore_errors=True)
        return count
