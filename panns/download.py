"""Fetch the official PANNs checkpoints from Zenodo into the cache folder, verified.

The cache folder is `$PANNS_CACHE`, else `$HIGHLIGHTS_CACHE/panns` (default
`~/.cache/highlights/panns`). The fetching itself (`.part` file, Range resume, retries, size and
sha256 check, atomic rename, nothing left behind on failure) is the shared `downloads.fetch`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from downloads import DownloadError, Expected, cache_root, fetch

__all__ = ["CHECKPOINTS", "CheckpointFile", "DownloadError", "cache_dir", "cache_path", "download"]

ZENODO_RECORD = "{endpoint}/record/3987831/files/{file}?download=1"


@dataclass(frozen=True)
class CheckpointFile:
    file: str
    size: int  # bytes, as published
    sha256: str

    @property
    def url(self) -> str:
        # ZENODO_ENDPOINT: a mirror, or the tests' loopback stand-in (like HF_ENDPOINT for the hub)
        endpoint = (os.environ.get("ZENODO_ENDPOINT") or "https://zenodo.org").rstrip("/")
        return ZENODO_RECORD.format(endpoint=endpoint, file=quote(self.file))


# Published sizes and sha256 of Zenodo record 3987831 (32 kHz, 64 mel bins, 527 classes).
CHECKPOINTS = {
    "Cnn14": CheckpointFile(
        "Cnn14_mAP=0.431.pth", 327_428_481, "0dc499e40e9761ef5ea061ffc77697697f277f6a960894903df3ada000e34b31"
    ),
    "Cnn10": CheckpointFile(
        "Cnn10_mAP=0.380.pth", 25_237_595, "5240bdc47444e331bbeb54fd741d2b3f933a4526e84b0c17bf3593df94b13962"
    ),
}


def cache_dir() -> Path:
    return Path(os.environ.get("PANNS_CACHE") or cache_root() / "panns")


def cache_path(name: str) -> Path:
    """Where the checkpoint of model `name` lives once downloaded."""
    if name not in CHECKPOINTS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(CHECKPOINTS)}")
    return cache_dir() / CHECKPOINTS[name].file


def download(
    name: str,
    folder: Path | None = None,
    source: CheckpointFile | None = None,
    url: str | None = None,
    retries: int = 4,
    backoff_s: float = 2.0,
    timeout_s: float = 30.0,
    progress: bool = True,
    connect_timeout_s: float | None = None,
) -> Path:
    """Fetch model `name`'s checkpoint into `folder` (default: the cache) and return its path.

    `source` and `url` override the published table (tests serve a small file on loopback).
    A file already in place with the right size and sha256 is kept as it is.
    """
    spec = source or CHECKPOINTS.get(name)
    if spec is None:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(CHECKPOINTS)}")
    return fetch(
        url or spec.url,
        (folder or cache_dir()) / spec.file,
        Expected(spec.size, spec.sha256),
        retries=retries,
        backoff_s=backoff_s,
        connect_timeout_s=connect_timeout_s or timeout_s,
        read_timeout_s=timeout_s,
        progress=progress,
    )
