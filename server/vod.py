"""A past broadcast's job: the live job's ingest, scoring, selection and clips, read once and as
fast as it is scored, with the chat from an uploaded file instead of IRC.

What differs from a live StreamJob (server/jobs.py), and why:
- the source is an ended HLS playlist (#EXT-X-ENDLIST: a twitch.tv/videos/<id> link, or any
  allowed URL), or a recording uploaded to the server (server/vod_files.py, kept as MPEG-TS);
  streamlink reads a playlist as fast as it can, so the reader is paced: no more than half a
  ring buffer of segments waits for scoring, else the ring would evict them before their clips;
- the chat reacting to a segment comes from the chat file (server.chat.logs), at the recording's
  time: the log's `video_start` plus the segment's offset, with the same reaction window, and is
  all there already (no wall-clock wait);
- progress (seconds done of the playlist's total, and the time left at the rate so far) goes out
  with each status report; at the end the job says `finished`, deletes its chat file and ring
  buffer and leaves the server; it is never resumed after a restart (it would start over).
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urljoin

from streamlink import Streamlink

from server import media, vod_files
from server.analyze import ChatIndex
from server.chat.logs import ChatLog, ChatLogError, read_chat_file
from server.egress import EgressGuard, guard_session
from server.ingest import IngestError, Opened, Segment, open_stream
from server.jobs import JobContext, StreamJob
from server.validation import UPLOADED, JobRequest

log = logging.getLogger(__name__)

FINISHED = "finished"
PROGRESS_EVERY_S = 1.0  # at most one progress report a second: the page polls every few seconds
_EXTINF_RE = re.compile(r"^#EXTINF:\s*([0-9.]+)", re.M)


class VodJob(StreamJob):
    STATUS_KEYS = (*StreamJob.STATUS_KEYS, "kind", "duration_s", "progress", "eta_s")

    def __init__(self, request: JobRequest, ctx: JobContext):
        super().__init__(request, ctx)  # from seq 0: a VOD always starts at its beginning
        self.chat_path = vod_files.chat_file(ctx.data_dir, self.stream_id)  # uploaded before the job started
        self._chat: ChatIndex | None = None  # read on the ingest thread, not in the API request
        self._video_start = 0.0
        self.duration_s: float | None = None  # the playlist's total, once known
        self.done_s = 0.0  # seconds of the recording scored
        self._scoring_since: float | None = None
        self._progress_sent = 0.0
        self.on_finish: Callable[[VodJob], None] | None = None  # the JobManager lets it go
        self.recording = (
            vod_files.recording_file(ctx.data_dir, self.stream_id) if request.stream_url == UPLOADED else None
        )
        self._segmenter.opener = self._open

    # --- what a VOD does differently -----------------------------------------------------------

    def _ingest_loop(self) -> None:
        """Read the recording once; no retries: an ended playlist that fails is an error."""
        if self.chat_path is not None:
            try:
                self._use_chat(read_chat_file(self.chat_path))
            except (ChatLogError, OSError) as exc:  # validated on upload: only a disk fault gets here
                self._set_state("error", f"cannot read the chat file: {exc}")
                self._segments.put(None)
                return
        self.duration_s = self._total_seconds()
        self._report_status()
        try:
            self._segmenter.run(self._stop, 0, 0.0, self._on_segment)
        except IngestError as exc:
            self._set_state("error", str(exc))
        except Exception as exc:  # a worker must never die silently
            log.exception("stream %s: VOD ingest failed", self.stream_id)
            self._set_state("error", f"ingest failed: {exc}")
        if not self._stop.is_set():
            self._segments.put(None)  # the end: the scoring thread closes the last highlight, then finishes

    def _use_chat(self, chat: ChatLog) -> None:
        self._chat, self._video_start = ChatIndex(chat), chat.video_start

    def _reactions_close_at(self, segment: Segment) -> float:
        return 0.0  # the whole chat is in the file

    def _reactions(self, segment: Segment) -> tuple[list | None, list | None]:
        if self._chat is None:
            return None, None
        return self._chat.reacting_to(self._video_start + segment.offset_s, self.ctx.reaction_window)

    def _process(self, segment: Segment) -> None:
        if self._scoring_since is None:
            self._scoring_since = time.monotonic()
        super()._process(segment)
        self.done_s = segment.offset_s + segment.duration
        if time.monotonic() - self._progress_sent >= PROGRESS_EVERY_S:
            self._report_status()

    def _stream_ended(self) -> None:
        try:
            super()._stream_ended()
        finally:
            self._finish()

    def _finish(self) -> None:
        """Delete the chat file and ring buffer, say `finished` (unless it failed), leave the server."""
        vod_files.remove(self.ctx.data_dir, self.stream_id)
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.state != "error":
            if self.duration_s is None:  # no playlist total: what was read is the whole
                self.duration_s = self.done_s
            self.done_s = self.duration_s
            self._set_state(FINISHED, None)
        self._stop.set()  # both threads end: the ingest already has, the scoring loop sees it
        if self.on_finish is not None:
            self.on_finish(self)

    def stop(self, timeout: float = 20.0) -> None:
        super().stop(timeout)
        vod_files.remove(self.ctx.data_dir, self.stream_id)  # the trash button: its upload goes too

    def _open(self, url: str, timeout: float, allowed_hosts: tuple[str, ...]) -> Opened:
        """streamlink's readers (or the uploaded recording's file), paced: no more than half a ring
        buffer of segments waits for scoring, so none is evicted before its clip is cut."""
        if self.recording is not None:
            opened = Opened(open(self.recording, "rb"), None, EgressGuard(()), "an uploaded recording")
        else:
            opened = open_stream(url, timeout, allowed_hosts)
        backlog = max(2, self.ctx.ring_size // 2)
        ready = lambda: self._cut - self.segments_done < backlog  # noqa: E731
        opened.analysed = _PacedReader(opened.analysed, ready, self._stop)
        if opened.exported is not None:
            opened.exported = _PacedReader(opened.exported, ready, self._stop)
        return opened

    def _total_seconds(self) -> float | None:
        if self.recording is not None:
            try:
                return media.duration_of(self.recording)
            except media.MediaError:
                return None
        return playlist_seconds(self.request.stream_url, self.ctx.source_hosts, self.ctx.read_timeout_s)

    # --- reporting -------------------------------------------------------------------------------

    @property
    def progress(self) -> float | None:
        if not self.duration_s:
            return None
        return round(min(self.done_s / self.duration_s, 1.0), 4)

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the rate so far; None before the first segment or without a total."""
        if self.state == FINISHED:
            return 0.0
        if not self.duration_s or self._scoring_since is None or self.done_s <= 0:
            return None
        rate = self.done_s / max(time.monotonic() - self._scoring_since, 1e-3)  # recording-s per second
        return round(max(self.duration_s - self.done_s, 0.0) / rate, 1)

    def to_dict(self) -> dict:
        duration = None if self.duration_s is None else round(self.duration_s, 3)
        return {
            **super().to_dict(),
            "kind": "vod",
            "duration_s": duration,
            "progress": self.progress,
            "eta_s": self.eta_s,
        }

    def degraded(self) -> list[str]:
        notices = [n for n in super().degraded() if n != "chat off: no chat channel"]
        if self.chat_path is None:
            notices.append("chat off: no chat file")
        return notices

    def _report_status(self) -> None:
        self._progress_sent = time.monotonic()
        super()._report_status()


class _PacedReader:
    """A streamlink reader that waits while `ready()` is False: a VOD is read as fast as it is scored."""

    def __init__(self, reader: Any, ready: Callable[[], bool], stop: threading.Event):
        self.reader, self.ready, self.stop = reader, ready, stop

    def read(self, size: int) -> bytes:
        while not self.ready() and not self.stop.is_set():
            self.stop.wait(0.05)
        return self.reader.read(size)

    def close(self) -> None:
        self.reader.close()


def playlist_seconds(url: str, allowed_hosts: Iterable[str], timeout: float) -> float | None:
    """The total duration of an ended HLS playlist (the sum of its #EXTINF), through the same
    host guard as the ingest; None when it cannot be read or has no #EXT-X-ENDLIST (no progress)."""
    session = Streamlink({"stream-timeout": timeout})
    guard_session(session.http, allowed_hosts)
    try:
        streams = session.streams(url)
        stream = streams.get("worst") or next(iter(streams.values()), None)
        playlist_url = getattr(stream, "url", None)
        if not playlist_url:
            return None
        text = session.http.get(playlist_url, timeout=timeout).text
        if "#EXT-X-STREAM-INF" in text:  # a multi-variant playlist: any rendition has the same length
            variant = next(line for line in text.splitlines() if line and not line.startswith("#"))
            text = session.http.get(urljoin(playlist_url, variant.strip()), timeout=timeout).text
    except Exception as exc:  # progress is a nicety: the analysis goes on without it
        log.info("no duration for %s: %s", url, exc)
        return None
    if "#EXT-X-ENDLIST" not in text:
        return None
    return sum(float(x) for x in _EXTINF_RE.findall(text)) or None
