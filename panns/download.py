"""Fetch the official PANNs checkpoints from Zenodo into the cache folder, verified.

The cache folder is `$PANNS_CACHE`, else `~/.cache/highlights/panns`. A download goes to
`<file>.part`, resumes with an HTTP Range request after a dropped connection, retries with
backoff, and is moved into place only once its size and sha256 match the published ones; on
failure the `.part` file is removed, so the cache only ever holds whole, verified checkpoints.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests
from tqdm import tqdm

log = logging.getLogger(__name__)

ZENODO_RECORD = "https://zenodo.org/record/3987831/files/{file}?download=1"
CHUNK = 1 << 16  # 64 KiB reads: a dropped connection loses at most this much


@dataclass(frozen=True)
class CheckpointFile:
    file: str
    size: int  # bytes, as published
    sha256: str

    @property
    def url(self) -> str:
        return ZENODO_RECORD.format(file=quote(self.file))


# Published sizes and sha256 of Zenodo record 3987831 (32 kHz, 64 mel bins, 527 classes).
CHECKPOINTS = {
    "Cnn14": CheckpointFile("Cnn14_mAP=0.431.pth", 327_428_481,
                            "0dc499e40e9761ef5ea061ffc77697697f277f6a960894903df3ada000e34b31"),
    "Cnn10": CheckpointFile("Cnn10_mAP=0.380.pth", 25_237_595,
                            "5240bdc47444e331bbeb54fd741d2b3f933a4526e84b0c17bf3593df94b13962"),
}


class DownloadError(Exception):
    """Raised by download() when no verified file could be fetched (the cache is left clean)."""


def cache_dir() -> Path:
    return Path(os.environ.get("PANNS_CACHE") or Path.home() / ".cache" / "highlights" / "panns")


def cache_path(name: str) -> Path:
    """Where the checkpoint of model `name` lives once downloaded."""
    if name not in CHECKPOINTS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(CHECKPOINTS)}")
    return cache_dir() / CHECKPOINTS[name].file


def download(name: str, folder: Path | None = None, source: CheckpointFile | None = None, url: str | None = None,
             retries: int = 4, backoff_s: float = 2.0, timeout_s: float = 30.0, progress: bool = True) -> Path:
    """Fetch model `name`'s checkpoint into `folder` (default: the cache) and return its path.

    `source` and `url` override the published table (tests serve a small file on loopback).
    A file already in place with the right size and sha256 is kept as it is.
    """
    spec = source or CHECKPOINTS.get(name)
    if spec is None:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(CHECKPOINTS)}")
    folder = folder or cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    final, part = folder / spec.file, folder / (spec.file + ".part")
    if final.is_file() and _verified(final, spec) is None:
        return final
    try:
        _fetch_with_retries(url or spec.url, part, spec, retries, backoff_s, timeout_s, progress)
    except BaseException:
        part.unlink(missing_ok=True)  # Ctrl-C included: never leave a partial file behind
        raise
    os.replace(part, final)  # atomic on one file system: readers see no file or a whole one
    return final


def _fetch_with_retries(url: str, part: Path, spec: CheckpointFile, retries: int, backoff_s: float,
                        timeout_s: float, progress: bool) -> None:
    last_error = "no attempt made"
    for attempt in range(retries + 1):
        if attempt:
            log.warning("download of %s failed (%s); retry %d/%d", spec.file, last_error, attempt, retries)
            time.sleep(backoff_s * 2 ** (attempt - 1))
        try:
            _fetch(url, part, spec, timeout_s, progress)
        except (requests.RequestException, OSError) as exc:
            last_error = str(exc)
            continue  # the .part file keeps what arrived: the next attempt resumes from there
        problem = _verified(part, spec)
        if problem is None:
            return
        last_error = problem
        if part.stat().st_size >= spec.size:
            part.unlink()  # whole but wrong: resuming cannot fix it, start over
    raise DownloadError(f"could not download {spec.file} from {url} after {retries + 1} attempts: {last_error}")


def _fetch(url: str, part: Path, spec: CheckpointFile, timeout_s: float, progress: bool) -> None:
    have = part.stat().st_size if part.exists() else 0
    if have > spec.size:
        part.unlink()
        have = 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with requests.get(url, headers=headers, stream=True, timeout=timeout_s) as response:
        if response.status_code == 416 and have == spec.size:
            return  # already complete
        response.raise_for_status()
        if have and response.status_code != 206:
            have = 0  # the server ignored Range: it sends the whole file again
        with part.open("ab" if have else "wb") as out, tqdm(
                total=spec.size, initial=have, unit="B", unit_scale=True, desc=spec.file, disable=not progress) as bar:
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)
                bar.update(len(chunk))


def _verified(path: Path, spec: CheckpointFile) -> str | None:
    """None when `path` has the published size and sha256, else what is wrong."""
    size = path.stat().st_size
    if size != spec.size:
        return f"size {size} bytes, expected {spec.size} (truncated download?)"
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    if digest.hexdigest() != spec.sha256:
        return f"sha256 {digest.hexdigest()} does not match the published {spec.sha256} (corrupt download)"
    return None
