"""A past broadcast on loopback: an ended HLS playlist (#EXT-X-PLAYLIST-TYPE:VOD, #EXT-X-ENDLIST)
of the demo's real 2 s MPEG-TS segments, served by a plain HTTP server, as Twitch serves a VOD.
streamlink reads such a playlist once, as fast as it is let, which is what a VOD job relies on."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Sequence
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def write_vod_playlist(segments: Sequence[Path], folder: Path, seconds: float = 2.0) -> Path:
    """Copy `segments` into `folder` with an ended playlist naming them; return the playlist."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{int(seconds)}", "#EXT-X-PLAYLIST-TYPE:VOD"]
    lines += ["#EXT-X-MEDIA-SEQUENCE:0"]
    for i, segment in enumerate(segments):
        shutil.copyfile(segment, folder / f"{i:05d}.ts")
        lines += [f"#EXTINF:{seconds:.3f},", f"{i:05d}.ts"]
    lines.append("#EXT-X-ENDLIST")
    playlist = folder / "index.m3u8"
    playlist.write_text("\n".join(lines) + "\n")
    return playlist


class _Quiet(SimpleHTTPRequestHandler):
    extensions_map = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t"}

    def log_message(self, *args: object) -> None:
        pass


class VodServer:
    """Serves `folder` on 127.0.0.1; `url` is its playlist's hls:// URL."""

    def __init__(self, folder: Path):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
        self.port = self.httpd.server_port
        self.url = f"hls://http://127.0.0.1:{self.port}/index.m3u8"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
