"""A loopback HTTP server that makes a list of MPEG-TS segments look like a live Twitch channel.

``GET /live/<channel>/index.m3u8`` is a sliding-window media playlist whose media sequence moves
on with the wall clock (``speed`` times faster if asked), looping the segments forever;
``GET /live/<channel>/<seq>.ts`` serves segment `seq`. An unknown or offline channel is a 404,
which is what an ended Twitch stream looks like to streamlink.

Given several renditions (``{Rung: segments}``, from `segments.prepare_renditions`), the channel
is served as Twitch serves one: ``index.m3u8`` is a multi-variant playlist naming each rendition
with its resolution, frame rate and bandwidth, and ``/live/<channel>/<rendition>/index.m3u8``
and ``.../<rendition>/<seq>.ts`` are that rendition's live playlist and segments, all on the
same media sequence.

Channels play the same loop in step unless given `shifts`: channel -> segments it runs ahead in
the loop, as if it had been live that much longer. Independent channels do not show the same
moment in the same second; the whole-box benchmark shifts each one (bench/streams.py).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from .segments import Rung

log = logging.getLogger(__name__)

SEGMENT_SECONDS = 2.0  # seconds of media per segment, as encoded by `segments.py`
STREAMLINK_MIN_RELOAD = 2.0  # seconds; streamlink reloads a live playlist no more often
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPE = "video/mp2t"
_PATH_RE = re.compile(
    r"^/live/(?P<channel>[A-Za-z0-9_]+)/(?:(?P<rendition>[0-9]+p[0-9]*)/)?(?:index\.m3u8|(?P<seq>\d+)\.ts)$"
)


def multivariant_playlist(ladder: Sequence[Rung]) -> str:
    """The multi-variant playlist of a channel offering `ladder`, best first as Twitch lists it."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for rung in ladder:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={rung.bandwidth},RESOLUTION={rung.width}x{rung.height},"
            f'CODECS="avc1.4D401F,mp4a.40.2",FRAME-RATE={rung.fps:.3f},VIDEO="{rung.name}"'
        )
        lines.append(f"{rung.name}/index.m3u8")
    return "\n".join(lines) + "\n"


def window_for(speed: float, segment_duration: float = SEGMENT_SECONDS) -> int:
    """Playlist length (segments) that a streamlink reader at `speed` never falls behind.

    Sped up, more segments than one go by between two of streamlink's reloads (2 s of real time
    at least); any that scrolled out of the window meanwhile would be skipped.
    """
    per_reload = math.ceil(STREAMLINK_MIN_RELOAD * speed / segment_duration)
    return max(5, 2 * per_reload + 3)


def media_playlist(
    first: int,
    window: int,
    loop_length: int,
    duration: float,
    date_of: Callable[[int], datetime] | None = None,
    shift: int = 0,
) -> str:
    """Render a live media playlist of segments `first` .. `first + window - 1`.

    Segment `seq` plays file `(seq + shift) % loop_length`; where the loop wraps the timestamps
    jump back, which HLS must announce with EXT-X-DISCONTINUITY (and count the ones that scrolled
    away in EXT-X-DISCONTINUITY-SEQUENCE, so players keep their numbering straight).
    """
    played = first + shift  # the loop position of `first`
    wraps_before = (played - 1) // loop_length if played > 0 else 0
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{int(-(-duration // 1))}",
        f"#EXT-X-MEDIA-SEQUENCE:{first}",
        f"#EXT-X-DISCONTINUITY-SEQUENCE:{wraps_before}",
    ]
    for seq in range(first, first + window):
        if seq + shift > 0 and (seq + shift) % loop_length == 0:
            lines.append("#EXT-X-DISCONTINUITY")
        if date_of is not None:
            stamp = date_of(seq).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{stamp}")
        lines.append(f"#EXTINF:{duration:.3f},live")
        lines.append(f"{seq}.ts")
    return "\n".join(lines) + "\n"


class LiveHLSServer:
    """Serve `segments` as endless live channels on loopback; see the module docstring."""

    def __init__(
        self,
        segments: Iterable[Path] | Mapping[Rung, Sequence[Path]],
        channels: Iterable[str] = ("demo_channel",),
        window: int = 5,
        speed: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        segment_duration: float = SEGMENT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        shifts: Mapping[str, int] | None = None,
    ) -> None:
        if isinstance(segments, Mapping):  # a multi-variant channel: {rung: its segments}
            self.ladder: tuple[Rung, ...] = tuple(segments)
            self._variants = {r.name: [Path(p).read_bytes() for p in files] for r, files in segments.items()}
        else:
            self.ladder = ()
            self._variants = {"": [Path(p).read_bytes() for p in segments]}
        self.renditions = frozenset(self._variants)  # "" when the channel has one, unnamed
        self._data = next(iter(self._variants.values()), [])
        if not self._data or len({len(data) for data in self._variants.values()}) != 1:
            raise ValueError("no segments to serve, or renditions of different lengths")
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.window, self.speed, self.segment_duration = window, speed, segment_duration
        self.host, self._port = host, port
        self._online = dict.fromkeys(channels, True)
        self._shifts = {channel: shift % len(self._data) for channel, shift in (shifts or {}).items()}
        self._lock = threading.Lock()
        self._clock = clock  # a test may hold the live clock still; a race on it is not a bug
        self._started = clock()
        self._started_wall = time.time()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._port

    def url(self, channel: str) -> str:
        """The streamlink URL of `channel`, e.g. ``hls://http://127.0.0.1:8181/live/x/index.m3u8``."""
        return f"hls://http://{self.host}:{self._port}/live/{channel}/index.m3u8"

    def set_online(self, channel: str, online: bool) -> None:
        """Take `channel` off the air (its URLs answer 404) or put it (back) on."""
        with self._lock:
            self._online[channel] = online

    def is_online(self, channel: str) -> bool:
        with self._lock:
            return self._online.get(channel, False)

    def start(self) -> None:
        """Bind and serve from a background thread; the live clock starts now."""
        httpd = _HTTPServer((self.host, self._port), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._port = httpd.server_address[1]
        self._started, self._started_wall = self._clock(), time.time()
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="hls", daemon=True
        )
        self._thread.start()
        log.info("demo HLS server on http://%s:%d (speed %.3gx)", self.host, self._port, self.speed)

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None

    # -- the live clock ----------------------------------------------------------------------

    def head(self) -> int:
        """Sequence number one past the newest segment.

        The channel starts with a full window, as if it had been live for a while, so a player
        has segments to buffer from its first request.
        """
        elapsed = (self._clock() - self._started) * self.speed
        return self.window + int(elapsed // self.segment_duration)

    def playlist(self, channel: str = "") -> str:
        first = self.head() - self.window
        shift = self._shifts.get(channel, 0)
        return media_playlist(first, self.window, len(self._data), self.segment_duration, self._date_of, shift)

    def segment(self, seq: int, rendition: str = "", channel: str = "") -> bytes | None:
        """Bytes of segment `seq`, or None if it is not (or no longer) available.

        Segments stay a further `window` behind the playlist: a player that read the playlist
        just before it moved on must still get what it was promised, as from a real CDN.
        """
        head = self.head()
        if not head - 2 * self.window <= seq < head:
            return None
        data = self._variants.get(rendition)
        return None if data is None else data[(seq + self._shifts.get(channel, 0)) % len(data)]

    def _date_of(self, seq: int) -> datetime:
        # When `seq` began "recording" (it is published one segment later), on the same wall
        # clock that the demo chat's tmi-sent-ts uses, so video and chat can be lined up.
        seconds = (seq - self.window) * self.segment_duration / self.speed
        return datetime.fromtimestamp(self._started_wall + seconds, tz=UTC)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: LiveHLSServer

    def handle_error(self, request, client_address) -> None:
        # A player hanging up mid-segment is routine, not worth a traceback on stderr.
        log.debug("HLS request from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "demo-hls"
    # Keep-alive, as a CDN serves: a player fetches a playlist and a segment every 2 s, and a new
    # TCP connection for each would cost the reader CPU that a real channel does not.
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def _respond(self, send_body: bool) -> None:
        owner = self.server.owner
        match = _PATH_RE.match(urlsplit(self.path).path)
        if match is None or not owner.is_online(match["channel"]):
            self._send(404, "text/plain", b"offline or unknown channel\n", send_body)
        elif owner.ladder and not match["rendition"] and match["seq"] is None:
            self._send(200, PLAYLIST_TYPE, multivariant_playlist(owner.ladder).encode(), send_body)
        elif (match["rendition"] or "") not in owner.renditions:
            self._send(404, "text/plain", b"no such rendition\n", send_body)
        elif match["seq"] is None:
            self._send(200, PLAYLIST_TYPE, owner.playlist(match["channel"]).encode(), send_body)
        else:
            data = owner.segment(int(match["seq"]), match["rendition"] or "", match["channel"])
            if data is None:
                self._send(404, "text/plain", b"segment not in the live window\n", send_body)
            else:
                self._send(200, SEGMENT_TYPE, data, send_body)

    def _send(self, status: int, content_type: str, body: bytes, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("HLS %s %s", self.address_string(), format % args)
