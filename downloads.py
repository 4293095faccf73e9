"""Fetching a large file over HTTP into a local cache, verified: the one downloader behind
`python -m panns download` (Zenodo) and `python -m server.chat.sentiment download` (Hugging Face).

A download goes to `<file>.part`, resumes with an HTTP Range request after a dropped connection,
retries with backoff, and is moved into place (one atomic rename) only once its size and digest
match what was expected; on failure, Ctrl-C included, the `.part` file is removed, so the cache
only ever holds whole, verified files. A host that cannot be reached at all (no DNS, connection
refused, connect timeout) is not retried: that is a machine offline, and waiting would only delay
the install that carries on without the file. Top level, like durable.py, because panns/ and
server/ both use it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from tqdm import tqdm

from backoff import backoff_delays

log = logging.getLogger(__name__)

CHUNK = 1 << 16  # 64 KiB reads: a dropped connection loses at most this much
CONNECT_TIMEOUT_S = 10.0  # opening the connection; a machine offline fails at once (DNS) or after this
READ_TIMEOUT_S = 60.0  # between two reads of a running download


class DownloadError(Exception):
    """No verified file could be fetched (the cache is left clean); `offline` = the host was unreachable."""

    def __init__(self, message: str, offline: bool = False) -> None:
        super().__init__(message)
        self.offline = offline


@dataclass(frozen=True)
class Expected:
    """What a whole, correct file is. Any field may be unknown (None); at least one digest is needed.

    `git_sha1` is the git blob id, sha1(b"blob <size>\\0" + content): the Hugging Face hub's ETag
    of a small (non-LFS) file, so such files are verified too.
    """

    size: int | None = None
    sha256: str | None = None
    git_sha1: str | None = None

    def __post_init__(self) -> None:
        if not (self.sha256 or self.git_sha1):
            raise ValueError("a download needs a sha256 or a git blob sha1 to verify against")


def cache_root() -> Path:
    """`$HIGHLIGHTS_CACHE`, else `~/.cache/highlights`: where downloaded models live."""
    return Path(os.environ.get("HIGHLIGHTS_CACHE") or Path.home() / ".cache" / "highlights")


@dataclass(frozen=True)
class Digests:
    size: int
    sha256: str
    git_sha1: str


def digests(path: Path) -> Digests:
    """Size, sha256 and git blob sha1 of `path`, in one read."""
    size = path.stat().st_size
    sha256, git = hashlib.sha256(), hashlib.sha1()
    git.update(b"blob %d\0" % size)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            sha256.update(block)
            git.update(block)
    return Digests(size, sha256.hexdigest(), git.hexdigest())


def verify(path: Path, expected: Expected) -> str | None:
    """None when `path` matches `expected`, else what is wrong (in words)."""
    size = path.stat().st_size
    if expected.size is not None and size != expected.size:
        return f"size {size} bytes, expected {expected.size} (truncated download?)"
    found = digests(path)
    if expected.sha256 and found.sha256 != expected.sha256:
        return f"sha256 {found.sha256} does not match the expected {expected.sha256} (corrupt download)"
    if expected.git_sha1 and found.git_sha1 != expected.git_sha1:
        return f"git blob sha1 {found.git_sha1} does not match the expected {expected.git_sha1} (corrupt download)"
    return None


def fetch(
    url: str,
    dest: Path,
    expected: Expected,
    retries: int = 4,
    backoff_s: float = 2.0,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    read_timeout_s: float = READ_TIMEOUT_S,
    progress: bool = True,
) -> Path:
    """Download `url` to `dest`, verified against `expected`; return `dest`.

    A file already at `dest` that verifies is kept without touching the network. Raises
    `DownloadError` (nothing left behind) when no verified file could be had.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and verify(dest, expected) is None:
        return dest
    part = dest.with_name(dest.name + ".part")
    try:
        _fetch_with_retries(url, part, expected, retries, backoff_s, (connect_timeout_s, read_timeout_s), progress)
    except BaseException:
        part.unlink(missing_ok=True)  # Ctrl-C included: never leave a partial file behind
        raise
    os.replace(part, dest)  # atomic on one file system: readers see no file or a whole one
    return dest


def unreachable(exc: BaseException) -> bool:
    """True when `exc` means the host could not be reached at all (not a dropped download)."""
    return isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError)) or (
        isinstance(exc, requests.ConnectionError)
        and not isinstance(exc, requests.exceptions.ChunkedEncodingError)
        and _connect_phase(exc)
    )


def _connect_phase(exc: requests.ConnectionError) -> bool:
    # urllib3 wraps "could not open a connection" (DNS, refused, unreachable) as NewConnectionError
    # or NameResolutionError inside MaxRetryError; a connection dropped mid-body is a ProtocolError.
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)


def offline_error(url: str, exc: BaseException) -> DownloadError:
    host = urlsplit(url).netloc
    return DownloadError(f"cannot reach {host} (offline?): {_short(exc)}", offline=True)


def _short(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Failed to resolve", "Connection refused", "timed out", "Network is unreachable"):
        if marker in text:
            return {"Failed to resolve": "name not resolved"}.get(marker, marker.lower())
    return text[:200]


def _fetch_with_retries(
    url: str,
    part: Path,
    expected: Expected,
    retries: int,
    backoff_s: float,
    timeout: tuple[float, float],
    progress: bool,
) -> None:
    last_error = "no attempt made"
    delays = backoff_delays(backoff_s, backoff_s * 2 ** max(retries - 1, 0))
    for attempt in range(retries + 1):
        if attempt:
            log.warning("download of %s failed (%s); retry %d/%d", part.name[:-5], last_error, attempt, retries)
            time.sleep(next(delays))
        try:
            _fetch(url, part, expected, timeout, progress)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if 400 <= status < 500 and status not in (408, 429):
                raise DownloadError(f"{url} answered {status} {exc.response.reason}: {_hint(status)}") from exc
            last_error = str(exc)
            continue
        except (requests.RequestException, OSError) as exc:
            if unreachable(exc):
                raise offline_error(url, exc) from exc
            last_error = str(exc)
            continue  # the .part file keeps what arrived: the next attempt resumes from there
        problem = verify(part, expected)
        if problem is None:
            return
        last_error = problem
        if expected.size is None or part.stat().st_size >= expected.size:
            part.unlink()  # whole but wrong: resuming cannot fix it, start over
    raise DownloadError(f"could not download {part.name[:-5]} from {url} after {retries + 1} attempts: {last_error}")


def _hint(status: int) -> str:
    if status in (401, 403):
        return "the file is private or gated (log in on the site, or pick another model)"
    if status == 404:
        return "no such file (check the model name and revision)"
    return "the request was refused"


def _fetch(url: str, part: Path, expected: Expected, timeout: tuple[float, float], progress: bool) -> None:
    have = part.stat().st_size if part.exists() else 0
    if expected.size is not None and have > expected.size:
        part.unlink()
        have = 0
    # identity: a transparently gzipped body would break both the byte count and the Range offset
    headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={have}-"} if have else {})}
    with requests.get(url, headers=headers, stream=True, timeout=timeout) as response:
        if response.status_code == 416 and have and have == expected.size:
            return  # already complete
        response.raise_for_status()
        if have and response.status_code != 206:
            have = 0  # the server ignored Range: it sends the whole file again
        with (
            part.open("ab" if have else "wb") as out,
            tqdm(
                total=expected.size, initial=have, unit="B", unit_scale=True, desc=part.name[:-5], disable=not progress
            ) as bar,
        ):
            for chunk in response.iter_content(CHUNK):
                out.write(chunk)
                bar.update(len(chunk))
