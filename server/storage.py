"""Where highlight clips and thumbnails are kept, behind one small interface.

Two backends: a local folder that the server itself serves under /media/ (the default, and the
demo's), and a Google Cloud Storage bucket for production (`server/storage_gcs.py`), chosen by
STORAGE_BACKEND. Uploads never run on a scoring thread: `server/spool.py` keeps each highlight's
files in a local spool until the backend has stored them and their URLs answer.
"""

from __future__ import annotations

import logging
import secrets
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

# The interface lives in storage_base so that a backend module never imports this factory (no cycle).
from server.storage_base import GOOGLE_STORAGE_URL, Storage, StorageError, safe_key, safe_prefix

__all__ = [
    "GOOGLE_STORAGE_URL",
    "LocalStorage",
    "Storage",
    "StorageError",
    "clip_name",
    "default_media_base_url",
    "is_storage_url",
    "make_storage",
    "public_url_prefix",
    "safe_key",
    "safe_prefix",
]

log = logging.getLogger(__name__)


def clip_name(stream_id: int, highlight_key: str) -> str:
    """The stored name of a highlight's files, without extension: "<stream_id>/<key>-<random>".

    Clips are public to whoever has the URL, so the URL must not be guessable: 128 random bits
    make it so (the highlight key alone, from segment numbers, was found by counting).
    """
    return f"{stream_id}/{highlight_key}-{secrets.token_urlsafe(16)}"


def public_url_prefix(config: Mapping[str, Any]) -> str:
    """What every stored object's URL starts with, from the storage settings (config.example.py).

    The webapp's download button fetches nothing else (webapp/streams/clips.py).
    """
    backend = str(config.get("STORAGE_BACKEND") or "local").lower()
    if backend != "gcs":
        return str(config["MEDIA_BASE_URL"]).rstrip("/")
    if config.get("GCS_PUBLIC_BASE_URL") and not config.get("GCS_SIGNED_URLS"):
        return str(config["GCS_PUBLIC_BASE_URL"]).rstrip("/")
    endpoint = str(config.get("STORAGE_EMULATOR_HOST") or GOOGLE_STORAGE_URL).rstrip("/")
    return f"{endpoint}/{config.get('GCS_BUCKET')}"


def _origin_and_path(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, f"{(parts.hostname or '').lower()}:{parts.port or default_port}", parts.path


def is_storage_url(url: str, prefixes: Iterable[str]) -> bool:
    """True if `url` names an object under one of the storage URL `prefixes` (same scheme, host,
    port, and path below the prefix's path), with no user name, `.`/`..` segment or backslash
    that could make a client or a server resolve it elsewhere."""
    try:
        parts = urlsplit(url)
        scheme, origin, path = _origin_and_path(url)
    except ValueError:  # e.g. a port that is not a number
        return False
    segments = unquote(path).split("/")
    if (
        scheme not in ("http", "https")
        or "@" in parts.netloc
        or "\\" in unquote(path)
        or any(segment in (".", "..") for segment in segments)
    ):
        return False
    for prefix in prefixes:
        p_scheme, p_origin, p_path = _origin_and_path(prefix)
        if (scheme, origin) == (p_scheme, p_origin) and path.startswith(p_path.rstrip("/") + "/"):
            return True
    return False


def default_media_base_url(server_port: int) -> str:
    """MEDIA_BASE_URL's default: the server's own /media/ route on loopback."""
    return f"http://127.0.0.1:{server_port}/media"


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
