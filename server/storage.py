"""Where highlight clips and thumbnails are kept, behind one small interface.

Two backends: a local folder that the server itself serves under /media/ (the default, and the
demo's), and a Google Cloud Storage bucket for production (`server/storage_gcs.py`), chosen by
STORAGE_BACKEND. Uploads never run on a scoring thread: `server/spool.py` keeps each highlight's
files in a local spool until the backend has stored them and their URLs answer.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The interface lives in storage_base so that a backend module never imports this factory (no cycle).
from server.storage_base import Storage, StorageError, safe_key, safe_prefix

__all__ = ["LocalStorage", "Storage", "StorageError", "make_storage", "safe_key", "safe_prefix"]

log = logging.getLogger(__name__)


class LocalStorage:
    """Files in `root`, served at `base_url` (the server's /media/ route by default)."""

    def __init__(self, root: Path, base_url: str):
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")

    def put(self, local_path: Path, key: str, content_type: str) -> str:
        name = safe_key(key)
        target = self.root / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            shutil.copyfile(local_path, partial)
            partial.replace(target)  # readers never see half a clip
        except OSError as exc:
            raise StorageError(f"cannot store {key}: {exc.strerror or exc}") from exc
        return f"{self.base_url}/{name}"

    def check(self, key: str, url: str, size: int, content_type: str) -> None:
        # The /media/ route serves whatever is in the folder: a complete file means a working URL.
        target = self.root / safe_key(key)
        try:
            stored = target.stat().st_size
        except OSError as exc:
            raise StorageError(f"{key} is not in {self.root}: {exc.strerror or exc}") from exc
        if stored != size:
            raise StorageError(f"{key} has {stored} bytes in storage, expected {size}")

    def delete_prefix(self, prefix: str) -> int:
        folder = self.root / safe_prefix(prefix)
        self._check_root()
        if not folder.is_dir():
            return 0
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            raise StorageError(f"cannot delete {prefix}: {exc.strerror or exc}") from exc
        return count

    def delete_older_than(self, cutoff_epoch: float) -> int:
        count = 0
        self._check_root()
        if not self.root.is_dir():
            return 0
        for path in self.root.rglob("*"):
            try:
                if path.is_file() and path.stat().st_mtime < cutoff_epoch:
                    path.unlink()
                    count += 1
            except OSError as exc:  # one stubborn file must not stop the sweep
                log.warning("retention: cannot delete %s: %s", path, exc.strerror or exc)
        for folder in sorted((p for p in self.root.iterdir() if p.is_dir()), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()
        return count

    def _check_root(self) -> None:
        # No folder yet = nothing stored yet; something else in its place = a broken disk or mount.
        if self.root.exists() and not self.root.is_dir():
            raise StorageError(f"the media folder {self.root} is not a folder")


def make_storage(config: Mapping[str, Any]) -> Storage:
    """Build the backend named by STORAGE_BACKEND from the server's settings (see config.example.py)."""
    backend = str(config.get("STORAGE_BACKEND") or "local").lower()
    if backend == "local":
        return LocalStorage(Path(config["MEDIA_ROOT"]), config["MEDIA_BASE_URL"])
    if backend == "gcs":
        from server.storage_gcs import GCSStorage  # google-cloud-storage is only imported when used

        return GCSStorage.from_config(config)
    raise StorageError(f"STORAGE_BACKEND={backend!r}: expected 'local' or 'gcs'")
