"""Fetch the transformers sentiment model from the Hugging Face hub into the cache, verified.

`python -m server.chat.sentiment download [--model ID] [--revision SHA]` puts the files the
text-classification pipeline needs (config, tokenizer files, safetensors weights) into
`$HIGHLIGHTS_CACHE/sentiment/<owner>--<name>` (default `~/.cache/highlights/...`), and writes
`download.json` (model, revision, each file's size and sha256) last: a folder without it is not
a downloaded model. Each file goes through `downloads.fetch` (progress bar, Range resume, retries,
atomic rename, nothing half-written left behind).

The hub protocol (what huggingface_hub speaks): `HEAD {endpoint}/{model}/resolve/{revision}/{file}`
answers 200 for a small file kept in git, with its git blob sha1 as `ETag`, or a 302 to a CDN for
a large (LFS) file, with `X-Linked-Etag` = the file's sha256 and `X-Linked-Size`; `X-Repo-Commit`
names the commit served. Every file is verified against those digests: the revision is pinned
(a commit sha), so they are the digests of that commit's files. `HF_ENDPOINT` moves the hub
(a mirror; the tests' loopback stand-in).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import requests

from downloads import (
    CONNECT_TIMEOUT_S,
    READ_TIMEOUT_S,
    DownloadError,
    Expected,
    cache_root,
    digests,
    fetch,
    offline_error,
    unreachable,
    verify,
)

DEFAULT_MODEL = "cardiffnlp/twitter-roberta-base-sentiment-latest"
# The commit that added model.safetensors (SFconvertbot, "Adding `safetensors` variant of this
# model"), whose tree lists config.json, merges.txt, vocab.json, special_tokens_map.json and a
# 501 MB model.safetensors. Pinned so every install gets the same weights (docs/chat.md).
DEFAULT_REVISION = "1c1bc20bd9f2abda61d461b6e031c570eb4c098b"
REQUIRED = ("config.json", "model.safetensors")  # pickled pytorch_model.bin is never fetched nor loaded
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "vocab.txt",
)  # whichever the model has: fast (tokenizer.json), BPE (vocab.json + merges.txt), WordPiece
MANIFEST = "download.json"
_SHA = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def model_dir(model: str = DEFAULT_MODEL) -> Path:
    """Where `model` (a hub id) lives once downloaded."""
    return cache_root() / "sentiment" / model.replace("/", "--")


def downloaded(model: str = DEFAULT_MODEL) -> Path | None:
    """The downloaded folder of hub id `model` if a complete download is there, else None.

    Cheap (no hashing): the server calls it at start-up; `download` re-verifies digests.
    """
    folder = model_dir(model)
    manifest = _read_manifest(folder)
    if manifest is None or manifest.get("model") != model:
        return None
    files = manifest.get("files") or {}
    if not all(name in files for name in REQUIRED):
        return None
    for name, info in files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != info.get("size"):
            return None
    return folder


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str  # where the bytes are: the resolve URL, or the CDN location it redirects to
    expected: Expected
    commit: str | None  # X-Repo-Commit


def download(
    model: str = DEFAULT_MODEL,
    revision: str | None = None,
    folder: Path | None = None,
    retries: int = 4,
    backoff_s: float = 2.0,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    read_timeout_s: float = READ_TIMEOUT_S,
    progress: bool = True,
) -> Path:
    """Fetch `model` at `revision` (default: the pinned one for the default model, else "main").

    Returns the folder. A complete download of the same model and revision whose files still
    match their recorded sha256 is kept without touching the network.
    """
    if revision is None:
        revision = DEFAULT_REVISION if model == DEFAULT_MODEL else "main"
    folder = folder or model_dir(model)
    if _complete(folder, model, revision):
        return folder
    timeouts = {"connect_timeout_s": connect_timeout_s, "read_timeout_s": read_timeout_s}
    remote = {}
    for name in REQUIRED + TOKENIZER_FILES:
        info = file_info(model, revision, name, **timeouts)
        if info is None and name in REQUIRED:
            why = (
                " (only safetensors weights are fetched: pickled .bin files are never loaded)"
                if name == "model.safetensors"
                else ""
            )
            raise DownloadError(f"{model} has no {name} at revision {revision}{why}")
        if info is not None:
            remote[name] = info
    if not set(remote) & {"tokenizer.json", "vocab.json", "vocab.txt"}:
        raise DownloadError(f"{model} at revision {revision} has no tokenizer files ({', '.join(TOKENIZER_FILES)})")
    commits = {info.commit for info in remote.values() if info.commit}
    if len(commits) > 1:  # "main" moved between two requests: the files would not belong together
        raise DownloadError(
            f"the hub served files of several commits of {model} ({', '.join(sorted(commits))}); "
            "run again, or pin --revision"
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)  # incomplete until every file is in place again
    files = {}
    for name, info in remote.items():
        path = fetch(
            info.url, folder / name, info.expected, retries=retries, backoff_s=backoff_s, progress=progress, **timeouts
        )
        found = digests(path)
        files[name] = {"size": found.size, "sha256": found.sha256}
    manifest = {
        "model": model,
        "revision": revision,
        "commit": commits.pop() if commits else None,
        "endpoint": hub_endpoint(),
        "files": files,
    }
    from durable import write_atomically

    write_atomically(folder / MANIFEST, json.dumps(manifest, indent=1) + "\n", mode=0o644)
    return folder


def file_info(
    model: str,
    revision: str,
    name: str,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    read_timeout_s: float = READ_TIMEOUT_S,
) -> RemoteFile | None:
    """The hub's metadata of one file (None when the revision has no such file)."""
    url = f"{hub_endpoint()}/{model}/resolve/{quote(revision, safe='')}/{quote(name)}"
    timeout = (connect_timeout_s, read_timeout_s)
    for _ in range(5):  # relative redirects: a renamed repo points at its new name on the same host
        try:
            response = requests.head(
                url, allow_redirects=False, timeout=timeout, headers={"Accept-Encoding": "identity"}
            )
        except requests.RequestException as exc:
            if unreachable(exc):
                raise offline_error(url, exc) from exc
            raise DownloadError(f"asking {url} failed: {exc}") from exc
        location = response.headers.get("Location")
        if response.status_code in (301, 302, 303, 307, 308) and location:
            target = urljoin(url, location)
            if urlsplit(target).netloc == urlsplit(url).netloc and "X-Linked-Etag" not in response.headers:
                url = target
                continue
            return _remote(name, target, response, revision)
        if response.status_code == 404:
            return None
        if response.status_code in (401, 403):
            raise DownloadError(
                f"{model} is private or gated on {hub_endpoint()} ({response.status_code}): pick another model"
            )
        if response.status_code >= 400:
            raise DownloadError(
                f"{url} answered {response.status_code} {response.reason} (the hub is down? "
                "run the command again later)"
            )
        return _remote(name, url, response, revision)
    raise DownloadError(f"{url}: too many redirects")


def _remote(name: str, url: str, response: requests.Response, revision: str) -> RemoteFile:
    headers = response.headers
    linked = _etag(headers.get("X-Linked-Etag"))
    etag = linked or _etag(headers.get("ETag"))
    size_text = headers.get("X-Linked-Size") or headers.get("Content-Length")
    size = int(size_text) if size_text and size_text.isdigit() else None
    commit = headers.get("X-Repo-Commit")
    if _SHA.match(revision) and commit and commit != revision:
        raise DownloadError(f"asked for revision {revision}, the hub served commit {commit}")
    if etag and _SHA256.match(etag):
        expected = Expected(size, sha256=etag)  # an LFS file: its ETag is the content's sha256
    elif etag and _SHA.match(etag):
        expected = Expected(size, git_sha1=etag)  # a git file: its ETag is the git blob id
    else:
        raise DownloadError(f"the hub gave no usable checksum for {name} (ETag {etag!r}): refusing an unverified file")
    return RemoteFile(name, url, expected, commit)


def _etag(value: str | None) -> str | None:
    if not value:
        return None
    return value.removeprefix("W/").strip('"').lower()


def _read_manifest(folder: Path) -> dict | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _complete(folder: Path, model: str, revision: str) -> bool:
    manifest = _read_manifest(folder)
    if manifest is None or manifest.get("model") != model or manifest.get("revision") != revision:
        return False
    files = manifest.get("files") or {}
    for name, info in files.items():
        path = folder / name
        if not path.is_file() or not info.get("sha256"):
            return False
        if verify(path, Expected(info.get("size"), sha256=info["sha256"])) is not None:
            return False
    return all(name in files for name in REQUIRED)
