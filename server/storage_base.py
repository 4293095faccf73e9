"""The storage interface every backend implements, its error, and the key rules they all share.

A module of its own so that both the factory (`server/storage.py`) and each backend
(`server/storage_gcs.py`) import it, and neither imports the other at module level.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Protocol

GOOGLE_STORAGE_URL = "https://storage.googleapis.com"  # public objects and signed URLs are served from here


class StorageError(Exception):
    """Raised by a storage backend when a file cannot be stored, checked or removed."""


class Storage(Protocol):
    def put(self, local_path: Path, key: str, content_type: str) -> str:
        """Store a file under `key` ("<stream_id>/<name>") and return the URL viewers will use."""

    def check(self, key: str, url: str, size: int, content_type: str) -> None:
        """Raise StorageError unless the object at `key` is complete and `url` serves it."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with `prefix`; return how many."""

    def delete_older_than(self, cutoff_epoch: float) -> int:
        """Delete every object stored before `cutoff_epoch` (retention); return how many."""


def safe_key(key: str) -> str:
    """Return `key` normalised ("12//a.mp4" -> "12/a.mp4"), or raise if it could escape its prefix."""
    path = PurePosixPath(key)
    if path.is_absolute() or ".." in path.parts or not path.parts or "\\" in key or "\x00" in key:
        raise StorageError(f"unsafe storage key {key!r}")
    return str(path)


def safe_prefix(prefix: str) -> str:
    """A delete prefix is a folder: "12" and "12/" both mean "12/" and never match "123/"."""
    return safe_key(prefix.rstrip("/")) + "/"
