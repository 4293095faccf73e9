"""Background renders of clips ready to post (vertical or square, trimmed), for the webapp.

A small pool (RENDER_WORKERS threads) takes render requests in order; each runs ffmpeg at a lower
CPU priority (`nice`) and with few encoder threads, so a render never slows the scoring of live
streams. The result is stored with the stream's clips (same backend, key under "<stream_id>/",
so it is deleted with the stream). State lives in memory: a restart forgets renders, and the
webapp shows those as failed.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from server import media
from server.render import LAYOUT_CHOICES, render_clip
from server.storage import Storage, StorageError, clip_name, is_storage_url

log = logging.getLogger(__name__)

KEEP = 500  # finished renders remembered for polling; older ones are forgotten first
DOWNLOAD_TIMEOUT = (3.05, 60)
MAX_SOURCE_BYTES = 2 * 1024**3  # a highlight is a minute or two; this is far past any
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


class RenderRequestError(ValueError):
    """A render request the server refuses (a 400 answer), with the reason."""


@dataclass
class Render:
    """One render: what was asked and how far it is."""

    id: str
    stream_id: int
    name: str
    clip_url: str
    layout: str
    start_s: float
    end_s: float | None
    state: str = "queued"  # queued | rendering | ready | error
    progress: float = 0.0
    url: str | None = None
    error: str | None = None
    facecam: dict[str, int] | None = None
    cancelled: bool = field(default=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "stream_id": self.stream_id,
            "layout": self.layout,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "state": self.state,
            "progress": round(self.progress, 3),
            "url": self.url,
            "error": self.error,
            "facecam": self.facecam,
        }


def _lower_priority(niceness: int) -> None:
    """Make the calling render thread nicer: the face search and the motion scan run here, in the
    server's process, beside the scoring threads (on Linux a thread has its own nice value)."""
    if niceness <= 0:
        return
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + niceness)
    except (AttributeError, OSError) as exc:  # another OS: ffmpeg is still nice'd
        log.info("render threads keep their priority: %s", exc)


def parse_render_request(data: Any, storage_prefixes: Iterable[str]) -> dict[str, Any]:
    """The fields of a `POST /api/v1/renders` body, checked; RenderRequestError says what is wrong."""
    if not isinstance(data, dict):
        raise RenderRequestError("body must be a JSON object")
    known = {"stream_id", "name", "clip_url", "layout", "start_s", "end_s"}
    if set(data) - known:
        raise RenderRequestError(f"unknown fields: {', '.join(sorted(set(data) - known))}")
    stream_id = data.get("stream_id")
    if not isinstance(stream_id, int) or isinstance(stream_id, bool) or not 0 < stream_id < 2**63:
        raise RenderRequestError("stream_id must be a positive integer")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise RenderRequestError("name must be 1-100 letters, digits, '-' or '_' (the highlight key)")
    layout = data.get("layout")
    if layout not in LAYOUT_CHOICES:
        raise RenderRequestError(f"layout must be one of {', '.join(LAYOUT_CHOICES)}")
    clip_url = data.get("clip_url")
    if not isinstance(clip_url, str) or not is_storage_url(clip_url, storage_prefixes):
        raise RenderRequestError("clip_url must be a clip in this server's storage")
    start, end = data.get("start_s", 0) or 0, data.get("end_s")
    for label, value in (("start_s", start), ("end_s", end)):
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool) or value < 0):
            raise RenderRequestError(f"{label} must be a number of seconds >= 0")
    if end is not None and end <= start:
        raise RenderRequestError("end_s must be after start_s")
    return {"stream_id": stream_id, "name": name, "layout": layout, "clip_url": clip_url, "start_s": float(start),
            "end_s": None if end is None else float(end)}  # fmt: skip


class RenderQueue:
    """Runs renders on a pool of `workers` threads and keeps their state for polling."""

    def __init__(
        self,
        storage: Storage,
        work_dir: Path,
        workers: int = 1,
        niceness: int = 10,
        threads: int = 1,
        local_media: tuple[str, Path] | None = None,
    ) -> None:
        self.storage = storage
        self.work_dir = Path(work_dir)
        self.niceness, self.threads = niceness, threads
        # (MEDIA_BASE_URL, MEDIA_ROOT) of the local backend: its clips are read from disk.
        self.local_media = local_media
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix="render", initializer=_lower_priority, initargs=(niceness,)
        )
        self._renders: OrderedDict[str, Render] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, fields: dict[str, Any]) -> Render:
        """Queue a render of checked `fields` (parse_render_request) and return it."""
        render = Render(id=secrets.token_urlsafe(12), **fields)
        with self._lock:
            self._renders[render.id] = render
            while len(self._renders) > KEEP:
                self._renders.popitem(last=False)
        self._pool.submit(self._run, render)
        return render

    def get(self, render_id: str) -> Render | None:
        with self._lock:
            return self._renders.get(render_id)

    def forget(self, stream_id: int) -> None:
        """The stream was deleted: its queued renders are not run, finished ones not served."""
        with self._lock:
            for render_id, render in list(self._renders.items()):
                if render.stream_id == stream_id:
                    render.cancelled = True
                    del self._renders[render_id]

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, render: Render) -> None:
        if render.cancelled:
            return
        render.state = "rendering"
        self.work_dir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="render-", dir=self.work_dir))
        try:
            source = self._source(render.clip_url, folder)
            out = folder / "out.mp4"
            done = render_clip(
                source,
                out,
                render.layout,
                render.start_s,
                render.end_s,
                threads=self.threads,
                progress=lambda share: setattr(render, "progress", min(share, 0.99)),
                niceness=self.niceness,
            )
            render.facecam = done.facecam.rect.as_dict() if done.facecam else None
            if render.cancelled:
                return
            key = f"{clip_name(render.stream_id, f'{render.name}-{render.layout}')}.mp4"
            render.url = self.storage.put(out, key, "video/mp4")
            render.progress, render.state = 1.0, "ready"
            log.info("rendered %s %s of stream %s", render.layout, render.name, render.stream_id)
        except (media.MediaError, StorageError, ValueError, OSError, requests.RequestException) as exc:
            render.state, render.error = "error", str(exc) or type(exc).__name__
            log.warning("render %s of stream %s failed: %s", render.name, render.stream_id, render.error)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _source(self, url: str, folder: Path) -> Path:
        """The stored clip as a local file: read in place from the local backend, else downloaded
        (the URL was checked to lie in this server's storage; redirects are not followed)."""
        if self.local_media is not None:
            base, root = self.local_media
            base_path = urlsplit(base.rstrip("/") + "/").path
            path = urlsplit(url).path
            if path.startswith(base_path):
                local = (Path(root) / path[len(base_path) :]).resolve()
                if Path(root).resolve() in local.parents and local.is_file():
                    return local
                raise media.MediaError("the clip is no longer in storage")
        target = folder / "source.mp4"
        with requests.get(url, stream=True, timeout=DOWNLOAD_TIMEOUT, allow_redirects=False) as response:
            if response.status_code != 200:
                raise media.MediaError(f"storage answered HTTP {response.status_code} for the clip")
            size = 0
            with target.open("wb") as out:
                for chunk in response.iter_content(256 * 1024):
                    size += len(chunk)
                    if size > MAX_SOURCE_BYTES:
                        raise media.MediaError("the clip is larger than a highlight can be")
                    out.write(chunk)
        return target
