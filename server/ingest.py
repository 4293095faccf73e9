"""Live ingest: streamlink opens the channel, ffmpeg cuts 10 s MPEG-TS segments (stream copy).

Where the channel offers several renditions (server/renditions.py), two are read at once: the
smallest is cut into the 10 s segments that are scored, and the best is cut, untouched, into
2 s pieces of an `ExportRing` that the clips are made from. Both keep the source's timestamps
apart from one offset that ffmpeg reports, so a scored segment's moment is found in the export
rendition by timestamp (renditions share them), never by wall clock. With one rendition the
scored segments are also the clips' material, as before.

Segments land in a per-stream folder used as a ring buffer: only the newest `ring_size` files
are kept, which is what highlight export needs and keeps the disk bounded on a 12-hour stream.
"""

from __future__ import annotations

import csv
import logging
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from streamlink import Streamlink
from streamlink.exceptions import NoPluginError, PluginError, StreamError

from server import media
from server.egress import EgressGuard, guard_session
from server.live_decode import Decoded, LiveDecoder
from server.media import FFMPEG
from server.renditions import choose, renditions_of

log = logging.getLogger(__name__)

READ_CHUNK = 256 * 1024  # bytes per read from streamlink (and per write into it); ~0.3 s of a 6 Mbit/s stream
HEAD_BYTES = 4096  # read before ffmpeg starts, to learn which streams the source has (media.stream_kinds)
DECODE_WAIT_S = 20.0  # a closed segment waits this long for its decoded frames before its file is decoded
EXPORT_PIECE_S = 2.0  # seconds per piece of the export rendition: Twitch's keyframe interval
# The cutting ffmpegs run this much nicer than the server. Their work has slack: a segment is
# scored only once its chat reaction window has closed, ~14 s after it is cut, while scoring,
# tagging and reporting are what a segment's lag is made of. On a busy box the scheduler runs
# those first and the cutters catch up in the slack (bench.streams at 24 streams: docs/benchmarks.md).
CUT_NICENESS = 5
_START_RE = re.compile(r"^\[info\]\s+Duration: .*?, start: (-?\d+(?:\.\d+)?)", re.M)


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
    pts: float | None = None  # source timestamp (s) of its first frame: the same in every rendition
    # Its audio and frames as the cutting ffmpeg decoded them (server/live_decode.py); None: decode
    # the file. Not kept once scored: `without_media()`.
    decoded: Decoded | None = field(default=None, compare=False, repr=False)

    @property
    def start_utc(self) -> float:
        return self.end_utc - self.duration

    def without_media(self) -> Segment:
        return replace(self, decoded=None)


@dataclass
class Opened:
    """The readers of one live stream: `analysed` is scored, `exported` (if any) is clipped."""

    analysed: Any
    exported: Any | None
    guard: EgressGuard
    description: str  # e.g. "analysing 160p, exporting 1080p60", for the log

    def close(self) -> None:
        for reader in (self.analysed, self.exported):
            if reader is not None:
                reader.close()


def open_stream(url: str, timeout: float, allowed_hosts: Iterable[str]) -> Opened:
    """Open `url` with streamlink: the smallest rendition fit for analysis and, if the channel
    offers a bigger one, the best one for the clips (server/renditions.py); with no sizes known,
    streamlink's "best" alone. The guard checks every request the session makes (the first one,
    redirects, playlists, segments) against `allowed_hosts` (allowlist.py).

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
    chosen = choose(renditions_of(streams))
    if chosen is None:
        analysed, exported, description = streams.get("best") or next(iter(streams.values())), None, "one rendition"
    else:
        analysed, exported = chosen[0].stream, chosen[1].stream if chosen[1] else None
        description = f"analysing {chosen[0].name}" + (f", exporting {chosen[1].name}" if chosen[1] else "")
    opened = Opened(_open(analysed, url, guard), None, guard, description)
    if exported is not None:
        try:
            opened.exported = _open(exported, url, guard)
        except IngestError:
            opened.close()
            raise
    return opened


def _open(stream: Any, url: str, guard: EgressGuard) -> Any:
    try:
        reader = stream.open()
    except StreamError as exc:
        _raise_if_refused(guard, exc)
        log.warning("could not read %s: %s", url, exc)
        raise StreamOffline("could not read the stream (details in the server log)") from exc
    writer = getattr(reader, "writer", None)  # an HLS reader's segment writer, on this reader only
    if writer is not None and hasattr(writer, "WRITE_CHUNK_SIZE"):
        # streamlink hands a downloaded segment to the reader 8 KiB at a time, each a lock and a
        # wake-up of our pump: ~90 a second per 1080p60 stream. A segment in few large pieces
        # costs the same bytes with a fraction of the Python (docs/benchmarks.md).
        writer.WRITE_CHUNK_SIZE = READ_CHUNK
    return reader


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
        # The best rendition's pieces, for the clips; empty while the channel offers one rendition.
        self.export = ExportRing(folder / "export", ring_size * segment_seconds)
        # How the stream is opened: streamlink; a VOD job (server/vod.py) paces the readers to its
        # scoring, or reads an uploaded recording instead.
        self.opener: Callable[[str, float, tuple[str, ...]], Opened] = open_stream

    def run(
        self, stop: threading.Event, first_seq: int, offset_s: float, on_segment: Callable[[Segment], None]
    ) -> None:
        """Emit each finished segment to `on_segment`; return when the stream ends or on stop."""
        self.folder.mkdir(parents=True, exist_ok=True)
        opened = self.opener(self.url, self.read_timeout, self.allowed_hosts)
        log.info("ingest %s: %s", self.folder.name, opened.description)
        self.export.restart()  # a new connection: its timestamps may have jumped
        head = _read_head(opened.analysed)
        decoder = LiveDecoder.for_kinds(media.stream_kinds(head)) if head else None
        try:
            self._cut(opened, head, decoder, stop, first_seq, offset_s, on_segment)
        finally:
            if decoder is not None:
                decoder.close()

    def _cut(
        self,
        opened: Opened,
        head: bytes,
        decoder: LiveDecoder | None,
        stop: threading.Event,
        first_seq: int,
        offset_s: float,
        on_segment: Callable[[Segment], None],
    ) -> None:
        listing_path = self.folder / f"list-{first_seq:06d}.csv"
        args = _cut_args(self.segment_seconds, listing_path, first_seq, self.folder / "seg_%06d.ts", decoder)
        try:
            analysis = _Cutter(opened.analysed, args, self.folder / f"ffmpeg-{first_seq:06d}.log", stop, head, decoder)
        except BaseException:
            opened.close()
            raise
        listing = _Listing(listing_path, offset_s, analysis.start_pts, decoder)
        cutters = [analysis]
        if opened.exported is not None:
            self.export.folder.mkdir(parents=True, exist_ok=True)
            exporter = _Cutter(
                opened.exported,
                self.export.ffmpeg_args(first_seq),
                self.export.folder / f"ffmpeg-{first_seq:06d}.log",
                stop,
            )
            self.export.follow(self.export.folder / f"list-{first_seq:06d}.csv", exporter.start_pts)
            cutters.append(exporter)
        try:
            while not stop.is_set() and analysis.running and not opened.guard.refused_event.is_set():
                self._emit(listing, on_segment)
                self.export.poll()
                stop.wait(0.25)
        finally:
            opened.close()
            for cutter in cutters:
                cutter.finish()
        if stop.is_set():
            return
        self._emit(listing, on_segment, ended=True)  # the last segment closes when ffmpeg exits
        self.export.poll()
        if opened.guard.refused is not None:  # a playlist named a segment or variant elsewhere
            raise SourceNotAllowed(opened.guard.refused)
        if analysis.returncode != 0:
            raise IngestError(f"ffmpeg failed: {analysis.error or analysis.returncode}")

    def _emit(self, listing: _Listing, on_segment: Callable[[Segment], None], ended: bool = False) -> None:
        for segment in listing.new_segments(self.folder, ended):
            on_segment(segment)
            self._evict(segment.seq)
            if segment.pts is not None:
                self.export.evict_before(segment.pts)

    def _evict(self, newest: int) -> None:
        for old in self.folder.glob("seg_*.ts"):
            if int(old.stem.split("_")[1]) <= newest - self.ring_size:
                old.unlink(missing_ok=True)


def _cut_args(
    seconds: float, listing: Path, first: int, pattern: Path, decoder: LiveDecoder | None = None
) -> list[str]:
    """ffmpeg reading MPEG-TS on stdin and cutting it into `seconds` pieces at keyframes (stream
    copy), listed in a CSV as they close; with a `decoder`, also decoding it for the scorer
    (server/live_decode.py). `level+info` puts the input's start timestamp in the log (the
    offset between the pieces' times and the source's) and tags errors as such."""
    return [
        FFMPEG,
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "level+info",
        *(media.CHEAP_DECODE if decoder is not None else []),  # frames only a scorer sees
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
        f"{seconds}",
        "-segment_format",
        "mpegts",
        "-segment_list",
        str(listing),
        "-segment_list_type",
        "csv",
        "-segment_start_number",
        str(first),
        str(pattern),
        *(decoder.output_args() if decoder is not None else []),
    ]


class _Cutter:
    """One streamlink reader pumped into one ffmpeg that cuts it (`_cut_args`); ffmpeg's log goes
    to a file, not a pipe that nobody reads for hours and that would block it once full. `head`:
    bytes already read from the reader, fed first; `decoder`: the decode outputs' pipes it writes."""

    def __init__(
        self,
        reader: Any,
        args: list[str],
        log_path: Path,
        stop: threading.Event,
        head: bytes = b"",
        decoder: LiveDecoder | None = None,
    ):
        self.log_path = log_path
        self.decoder = decoder
        fds = decoder.child_fds() if decoder is not None else ()
        with open(log_path, "wb") as log_file:
            # nice(1) rather than a preexec_fn: forking with Python code to run is unsafe in a threaded server.
            self.process = subprocess.Popen(
                ["nice", "-n", str(CUT_NICENESS), *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
                pass_fds=fds,
            )
        if decoder is not None:
            decoder.started()
        self._pts: float | None = None
        self._pump = threading.Thread(
            target=_pump, args=(reader, self.process, stop, head), name="ingest-pump", daemon=True
        )
        self._pump.start()

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def start_pts(self) -> float | None:
        """The source timestamp (s) ffmpeg's time 0 stands for: it reports it on opening the input."""
        if self._pts is None:
            try:
                found = _START_RE.search(self.log_path.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                return None
            self._pts = float(found[1]) if found else None
        return self._pts

    @property
    def error(self) -> str:
        """ffmpeg's last error line, if it wrote one."""
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        errors = [line for line in lines if line.startswith(("[error]", "[fatal]"))]
        return errors[-1].split("] ", 1)[-1] if errors else ""

    def finish(self) -> None:
        self._pump.join(timeout=10)
        # ffmpeg flushes its decode outputs as it exits: keep their pipes drained meanwhile.
        _finish(self.process, self.decoder.poll if self.decoder is not None else None)


def _read_head(reader: Any) -> bytes:
    """The first HEAD_BYTES (or all, if fewer) of a stream; empty when it ends or fails at once."""
    head = b""
    try:
        while len(head) < HEAD_BYTES:
            chunk = reader.read(READ_CHUNK)
            if not chunk:
                break
            head += chunk
    except (OSError, ValueError) as exc:  # the pump meets the same failure and reports it
        log.info("stream read ended at its start: %s", exc)
    return head


def _pump(reader: Any, ffmpeg: subprocess.Popen, stop: threading.Event, head: bytes = b"") -> None:
    """Copy bytes from streamlink into ffmpeg until the stream ends, fails or we stop."""
    assert ffmpeg.stdin is not None  # started with stdin=PIPE
    try:
        if head:
            ffmpeg.stdin.write(head)
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


@dataclass(frozen=True)
class Piece:
    """A piece of the export rendition: [pts, end) in source time."""

    path: Path
    pts: float
    end: float


class ExportRing:
    """The best rendition's 2 s pieces of the last `keep_s` seconds, found by source timestamp.

    Written by the ingest thread, read by the scoring thread when it renders a clip.
    """

    def __init__(self, folder: Path, keep_s: float):
        self.folder = folder
        self.keep_s = keep_s
        self._lock = threading.Lock()
        self._pieces: list[Piece] = []
        self._rows: _NewRows | None = None
        self._start_pts: Callable[[], float | None] = lambda: None

    def ffmpeg_args(self, first: int) -> list[str]:
        return _cut_args(EXPORT_PIECE_S, self.folder / f"list-{first:06d}.csv", 0, self.folder / f"{first:06d}_%06d.ts")

    def restart(self) -> None:
        """Forget the pieces of an earlier connection (their timestamps may not continue)."""
        with self._lock:
            self._pieces, self._rows = [], None
        shutil.rmtree(self.folder, ignore_errors=True)  # pieces, listings and logs of the last one

    def follow(self, listing: Path, start_pts: Callable[[], float | None]) -> None:
        self._rows, self._start_pts = _NewRows(listing), start_pts

    @property
    def active(self) -> bool:
        """True while the connection has an export rendition (the channel offers several)."""
        return self._rows is not None

    def poll(self) -> None:
        """Take in the pieces ffmpeg has closed since the last poll."""
        origin = self._start_pts()
        if self._rows is None or origin is None:
            return  # ffmpeg names the source's start before it closes a piece
        new = [
            Piece(self.folder / name, origin + float(start), origin + float(end))
            for name, start, end, *_ in self._rows()
        ]
        with self._lock:
            self._pieces.extend(new)

    def evict_before(self, newest_pts: float) -> None:
        """Delete the pieces that ended more than `keep_s` before `newest_pts`."""
        with self._lock:
            old = [p for p in self._pieces if p.end < newest_pts - self.keep_s]
            self._pieces = [p for p in self._pieces if p.end >= newest_pts - self.keep_s]
        for piece in old:
            piece.path.unlink(missing_ok=True)

    def covering(self, start: float, end: float, slack: float = 0.5) -> list[Piece] | None:
        """The pieces, in order, that together cover [start, end) of source time (to within
        `slack` seconds at either edge), or None when the ring does not hold all of it."""
        with self._lock:
            pieces = [p for p in self._pieces if p.end > start and p.pts < end and p.path.exists()]
        if not pieces or pieces[0].pts > start + slack or pieces[-1].end < end - slack:
            return None
        if any(b.pts - a.end > slack for a, b in zip(pieces, pieces[1:], strict=False)):
            return None  # a gap: a piece is missing in the middle
        return pieces


class _NewRows:
    """The rows ffmpeg appended to a CSV listing since the last call: read from where the last
    call stopped, so a 12-hour stream's long listing costs no more per poll than a new one's."""

    def __init__(self, path: Path):
        self.path = path
        self._offset = 0

    def __call__(self) -> list[list[str]]:
        try:
            with open(self.path, "rb") as listing:
                listing.seek(self._offset)
                data = listing.read()
        except FileNotFoundError:
            return []
        complete = data[: data.rfind(b"\n") + 1]  # a row still being written waits for the next poll
        self._offset += len(complete)
        rows = csv.reader(complete.decode("utf-8", "replace").splitlines())
        return [row for row in rows if len(row) >= 3]


class _Listing:
    """ffmpeg's segment list (CSV: file,start,end); a row appears when a segment is closed. With a
    `decoder`, a segment is handed on once its decoded audio and frames are in as well."""

    def __init__(
        self,
        path: Path,
        offset_s: float,
        start_pts: Callable[[], float | None] = lambda: None,
        decoder: LiveDecoder | None = None,
    ):
        self.path = path
        self.offset_s = offset_s
        self.start_pts = start_pts  # the source timestamp the listing's time 0 stands for
        self.decoder = decoder
        self._rows = _NewRows(path)
        self._waiting: list[tuple[Segment, float, float]] = []  # closed, decode not in yet: (segment, start, end)

    def new_segments(self, folder: Path, ended: bool = False) -> list[Segment]:
        """The segments closed since the last call, in order; `ended`: ffmpeg has exited."""
        if self.decoder is not None:
            self.decoder.poll()  # every time: ffmpeg stops cutting when it cannot write what it decoded
        origin = self.start_pts()
        for name, opens, closes, *_ in self._rows():
            path, begin, finish = folder / name, float(opens), float(closes)
            pts = None if origin is None else origin + begin
            segment = Segment(int(path.stem.split("_")[1]), path, finish - begin, time.time(), self.offset_s, pts)
            self._waiting.append((segment, begin, finish))
            self.offset_s += finish - begin
        found = []
        while self._waiting:
            segment, start, end = self._waiting[0]
            if self.decoder is not None:
                if self.decoder.holds(end):
                    segment = replace(segment, decoded=self.decoder.take(start, end))
                elif ended or time.time() - segment.end_utc > DECODE_WAIT_S:
                    log.warning(
                        "%s: no decoded audio/frames after %.0f s: its file is decoded",
                        segment.path.name,
                        DECODE_WAIT_S,
                    )
                    self.decoder.skip_to(end)
                else:
                    break  # ffmpeg's decoder is a few frames behind its cutter: next poll
            found.append(segment)
            self._waiting.pop(0)
        return found


def _finish(process: subprocess.Popen, meanwhile: Callable[[], None] | None = None) -> None:
    """Let ffmpeg close its last segment (stdin is closed), then make sure it is gone; `meanwhile`
    runs while it exits (draining pipes it writes to, which it would otherwise block on)."""
    deadline = time.monotonic() + 10
    while process.poll() is None and time.monotonic() < deadline:
        if meanwhile is not None:
            meanwhile()
        try:
            process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            pass
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if meanwhile is not None:
        meanwhile()
