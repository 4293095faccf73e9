"""A loopback stand-in for the webapp's ingest API that records when each report arrived.

The processing server reports to ``<callback_base>/api/v1/streams/<id>/<kind>`` with the
INGEST_API_TOKEN as a bearer token (server/reporter.py). This answers 200 to every such POST with
the right token (so the server's outbox never retries and adds no load of its own), 403 to a
wrong one, 404 elsewhere, and keeps each segment with the wall-clock time its report arrived.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_PATH_RE = re.compile(r"^/api/v1/streams/(?P<stream>\d+)/(?P<kind>[a-z]+)$")


@dataclass(frozen=True)
class SegmentReport:
    stream_id: int
    seq: int
    start_utc: float  # epoch seconds: when the segment began, by the server's clock
    arrived: float  # epoch seconds: when its report reached us
    features: dict[str, Any]


class ReportRecorder:
    """Serve on 127.0.0.1 (a free port) from a daemon thread until `close`."""

    def __init__(self, token: str) -> None:
        self._token = f"Bearer {token}".encode()
        self._lock = threading.Lock()
        self._segments: list[SegmentReport] = []
        self._status: dict[int, dict[str, Any]] = {}
        self.refused = 0  # POSTs with a wrong or missing token
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                match = _PATH_RE.match(self.path)
                if match is None:
                    status = 404
                elif not hmac.compare_digest(self.headers.get("Authorization", "").encode(), recorder._token):
                    status = 403
                    with recorder._lock:
                        recorder.refused += 1
                else:
                    status = 200
                    recorder._record(int(match["stream"]), match["kind"], json.loads(body), arrived)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_port}"
        threading.Thread(target=self._httpd.serve_forever, name="report-recorder", daemon=True).start()

    def _record(self, stream_id: int, kind: str, payload: dict[str, Any], arrived: float) -> None:
        with self._lock:
            if kind == "segments":
                for row in payload.get("segments", []):
                    self._segments.append(
                        SegmentReport(
                            stream_id, row["seq"], epoch_of(row["start_utc"]), arrived, row.get("features", {})
                        )
                    )
            elif kind == "status":
                self._status[stream_id] = payload

    def segments(self) -> list[SegmentReport]:
        with self._lock:
            return list(self._segments)

    def streams_reporting(self) -> set[int]:
        """The streams that have reported at least one scored segment."""
        with self._lock:
            return {s.stream_id for s in self._segments}

    def status(self) -> dict[int, dict[str, Any]]:
        """The last status report of each stream (state, segments_done, last_error, degraded)."""
        with self._lock:
            return dict(self._status)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def epoch_of(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
