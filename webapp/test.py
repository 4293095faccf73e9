"""Test helpers (healthchecks' `hc/test.py` style): named users and a real fake processing server.

`FakeProcessingServer` is an `http.server` on 127.0.0.1, port 0, in a thread; it records every
request and answers like docs/contract.md says the server does.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.contrib.auth.models import User
from django.test import TestCase

from metamodel.selection import DEFAULT_PER_HOUR, validate_per_hour
from webapp.lib import processing
from webapp.streams.models import Stream

PASSWORD = "correct-horse-battery"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeProcessingServer:
    """Set `reject_with` to answer POST /api/v1/jobs with `reject_status` (400) and that error."""

    reject_with: str | None = None
    reject_status: int = 400
    patch_status: int = 200  # PATCH /api/v1/jobs/<id>: 404 plays "no job running for this stream"
    requests: list[Recorded] = field(default_factory=list)

    def __enter__(self) -> FakeProcessingServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self._record()
                if self.path != "/api/v1/jobs":
                    return self._answer(404, {"error": "not found"})
                if fake.reject_with:
                    return self._answer(fake.reject_status, {"error": fake.reject_with})
                job = {
                    "stream_id": body["stream_id"],
                    "source": body["source"],
                    "state": "starting",
                    "segments_done": 0,
                    "highlights": 0,
                    "last_error": None,
                    "lag_s": None,
                    "degraded": ["audio tagging off: no checkpoint"],
                }
                self._answer(201, job)

            def do_PATCH(self) -> None:
                body = self._record()
                match = re.fullmatch(r"/api/v1/jobs/(\d+)", self.path)
                if not match or fake.patch_status == 404:
                    return self._answer(404, {"error": "no such job"})
                if fake.patch_status != 200:
                    return self._answer(fake.patch_status, {"error": "server trouble"})
                if not isinstance(body, dict) or set(body) != {"highlights_per_hour"}:
                    return self._answer(400, {"error": 'body must be {"highlights_per_hour": <number or null>}'})
                per_hour = body["highlights_per_hour"]
                try:
                    per_hour = DEFAULT_PER_HOUR if per_hour is None else validate_per_hour(per_hour)
                except ValueError as exc:
                    return self._answer(400, {"error": f"highlights_per_hour: {exc}, or null"})
                self._answer(
                    200, {"stream_id": int(match[1]), "state": "live", "highlights_per_hour": per_hour, "bar": None}
                )

            def do_DELETE(self) -> None:
                self._record()
                if not re.fullmatch(r"/api/v1/jobs/\d+", self.path):
                    return self._answer(404, {"error": "not found"})
                self._answer(204, None)

            def _record(self) -> Any:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw) if raw else None
                fake.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
                return body

            def _answer(self, status: int, doc: Any) -> None:
                data = b"" if doc is None else json.dumps(doc).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class BaseTestCase(TestCase):
    """Alice and Bob, each with an account; Alice tracks one stream. Bob must never see it."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = User.objects.create_user("alice", password=PASSWORD)
        cls.bob = User.objects.create_user("bob", password=PASSWORD)
        cls.stream = Stream.objects.create(owner=cls.alice, source="xqcow", chat_channel="xqcow", state=Stream.LIVE)

    def setUp(self) -> None:
        super().setUp()
        processing.reset_breakers()  # a server "down" in an earlier test must not stay down here

    def login(self, user: User | None = None) -> None:
        self.client.force_login(user or self.alice)
