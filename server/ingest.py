"""Live ingest: streamlink opens the channel, ffmpeg cuts 10 s MPEG-TS segments (stream copy).

Segments land in a per-stream folder used as a ring buffer: only the newest `ring_size` files
are kept, which is what highlight export needs and keeps the disk bounded on a 12-hour stream.
"""

from __future__ import annotations

import csv
import logging
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamlink import Streamlink
from streamlink.exceptions import NoPluginError, PluginError, StreamError

from server.egress import EgressGuard, guard_session
from server.media import FFMPEG

log = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024  # bytes per read from streamlink; ~40 ms of a 6 Mbit/s stream


class IngestError(Exception):
    """Raised by `LiveSegmenter.run` when the stream cannot be opened or read."""


class StreamOffline(IngestError):
    """The channel exists but has no live stream (or its playlist is gone)."""


class SourceNotAllowed(IngestError):
    """The stream led to a host:port outside the allow-list (a redirect, a playlist entry)."""

    def __init__(self, target: str):
        super().__init__(f"source not allowed: the stream led to {target}, which is not on the allow-list")


@dataclass(frozen=True)
class Segment:
    seq: int  # job-wide sequence number, continuous across reconnects
    path: Path
    duration: float  # seconds
    end_utc: float  # epoch seconds when the segment was complete
    offset_s: float  # seconds since the job started receiving video

    @property
    def start_utc(self) -> float:
        return self.end_utc - self.duration


def open_stream(url: str, timeout: float, allowed_hosts: Iterable[str]) -> tuple[Any, EgressGuard]:
    """Open the best quality of `url` with streamlink; return its file-like reader and the guard
    that checks every request the session makes (the first one, redirects, playlists, segments)
    against `allowed_hosts` (allowlist.py).

    The errors say what a user may see: which host a stream led to that is not allowed, or that
    it is offline; anything else is "could not open the stream", with the details in the log only,
    so the message cannot tell a closed port from an open one.
    """
    session = Streamlink({"stream-timeout": timeout, "hls-live-edge": 3})
    guard = guard_session(session.http, allowed_hosts)
    try:
        streams = session.streams(url)
    except NoPluginError as exc:
        raise IngestError("no streamlink plugin for this source") from exc
    except PluginError as exc:
        _raise_if_refused(guard, exc)
        if _http_status(exc) in (404, 410):  # a playlist that is gone: the channel went off the air
            raise StreamOffline("channel is offline (playlist not found)") from exc
        log.warning("could not open %s: %s", url, exc)
        raise IngestError("could not open the stream (details in the server log)") from exc
    if not streams:
        raise StreamOffline("channel is offline")
    stream = streams.get("best") or next(iter(streams.values()))
    try:
        return stream.open(), guard
    except StreamError as exc:
        _raise_if_refused(guard, exc)
        log.warning("could not read %s: %s", url, exc)
        raise StreamOffline("could not read the stream (details in the server log)") from exc


def _raise_if_refused(guard: EgressGuard, exc: BaseException) -> None:
    if guard.refused is not None:
        raise SourceNotAllowed(guard.refused) from exc


def _http_status(exc: BaseException) -> int | None:
    """HTTP status behind a streamlink error, if an HTTP answer caused it (streamlink wraps twice)."""
    cause: BaseException | None = exc
    while cause is not None:
        response = getattr(cause, "response", None)
        if response is not None:
            return getattr(response, "status_code", None)
        cause = cause.__cause__ or cause.__context__
    return None


class LiveSegmenter:
    """One streamlink -> ffmpeg session; `run` blocks until the stream ends or `stop` is set."""

    def __init__(
        self,
        url: str,
        folder: Path,
        segment_seconds: float = 10.0,
        ring_size: int = 60,
        read_timeout: float = 30.0,
        allowed_hosts: Iterable[str] = (),
    ):
        self.url = url
        self.allowed_hosts = tuple(allowed_hosts)  # every host:port streamlink may contact
        self.folder = folder
        self.segment_seconds = segment_seconds
        self.ring_size = ring_size
        self.read_timeout = read_timeout

    def run(
        self, stop: threading.Event, first_seq: int, offset_s: float, on_segment: Callable[[Segment], None]
    ) -> None:
        """Emit each finished segment to `on_segment`; return when the stream ends or on stop."""
        self.folder.mkdir(parents=True, exist_ok=True)
        reader, guard = open_stream(self.url, self.read_timeout, self.allowed_hosts)
        listing = _Listing(self.folder / f"list-{first_seq:06d}.csv", offset_s)
        ffmpeg = subprocess.Popen(
            self._ffmpeg_args(first_seq, listing.path),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        pump = threading.Thread(target=self._pump, args=(reader, ffmpeg, stop), name="ingest-pump", daemon=True)
        pump.start()
        try:
            while not stop.is_set() and ffmpeg.poll() is None and not guard.refused_event.is_set():
                self._emit(listing, on_segment)
                stop.wait(0.25)
        finally:
            reader.close()
            pump.join(timeout=10)
            _finish(ffmpeg)
        if stop.is_set():
            return
        self._emit(listing, on_segment)  # the last segment closes when ffmpeg exits
        if guard.refused is not None:  # a playlist named a segment or variant elsewhere
            raise SourceNotAllowed(guard.refused)
        error = ffmpeg.stderr.read().decode("utf-8", "replace").strip() if ffmpeg.stderr else ""
        if ffmpeg.returncode != 0:
            raise IngestError(f"ffmpeg failed: {error.splitlines()[-1] if error else ffmpeg.returncode}")

    def _emit(self, listing: _Listing, on_segment: Callable[[Segment], None]) -> None:
        for segment in listing.new_segments(self.folder):
            on_segment(segment)
            self._evict(segment.seq)

    def _ffmpeg_args(self, first_seq: int, listing: Path) -> list[str]:
        return [
            FFMPEG,
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            "pipe:0",
            "-map",
            "0:v:0?",
            "-map",
            "0:a:0?",
            "-c",
            "copy",
            "-f",
            "segment",
            "-segment_time",
            f"{self.segment_seconds}",
            "-segment_format",
            "mpegts",
            "-segment_list",
            str(listing),
            "-segment_list_type",
            "csv",
            "-segment_start_number",
            str(first_seq),
            str(self.folder / "seg_%06d.ts"),
        ]

    def _pump(self, reader, ffmpeg: subprocess.Popen, stop: threading.Event) -> None:
        """Copy bytes from streamlink into ffmpeg until the stream ends, fails or we stop."""
        assert ffmpeg.stdin is not None  # started with stdin=PIPE
        try:
            while not stop.is_set():
                chunk = reader.read(READ_CHUNK)
                if not chunk:
                    break
                ffmpeg.stdin.write(chunk)
        except (OSError, ValueError) as exc:  # read timeout, closed reader, ffmpeg gone
            if not stop.is_set():
                log.info("stream read ended: %s", exc)
        finally:
            try:
                ffmpeg.stdin.close()
            except OSError:
                pass

    def _evict(self, newest: int) -> None:
        for old in self.folder.glob("seg_*.ts"):
            if int(old.stem.split("_")[1]) <= newest - self.ring_size:
                old.unlink(missing_ok=True)


class _Listing:
    """ffmpeg's segment list (CSV: file,start,end); a row appears when a segment is closed."""

    def __init__(self, path: Path, offset_s: float):
        self.path = path
        self.offset_s = offset_s
        self.seen: set[str] = set()

    def new_segments(self, folder: Path) -> list[Segment]:
        if not self.path.exists():
            return []
        found = []
        text = self.path.read_text(encoding="utf-8", errors="replace")
        complete = text[: text.rfind("\n") + 1]  # a row still being written waits for the next poll
        for row in csv.reader(complete.splitlines()):
            if len(row) < 3 or row[0] in self.seen:
                continue
            self.seen.add(row[0])
            path = folder / row[0]
            duration = float(row[2]) - float(row[1])
            found.append(Segment(int(path.stem.split("_")[1]), path, duration, time.time(), self.offset_s))
            self.offset_s += duration
        return found


def _finish(process: subprocess.Popen) -> None:
    """Let ffmpeg close its last segment (stdin is closed), then make sure it is gone."""
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
