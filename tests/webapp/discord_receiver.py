"""A loopback stand-in for Discord's webhook endpoint (Discord cannot be reached from here).

It speaks the part of the API the notifier relies on, as Discord documents it:
- POST /api/webhooks/<id>/<token>[?wait=true] with a JSON body: 200 and the message object with
  ?wait=true, 204 without; a body with neither `content` nor `embeds` is a 400 (code 50006);
- an unknown id or a wrong token: 404 {"message": "Unknown Webhook", "code": 10015};
- a rate limit: `limit` messages per `window_s` seconds, then 429 with
  {"message": "You are being rate limited.", "retry_after": <s>, "global": false} and the
  Retry-After / X-RateLimit-* headers; every answer carries X-RateLimit-Remaining/Reset-After;
- `plan`: statuses to answer the next requests with instead (500, 503, 429, 404...), one each.
`stop()` plays an outage (connections refused); `start()` serves again on the same port.
Only accepted messages are kept in `messages`; every request is counted in `requests`.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

WEBHOOK_ID = "112233445566778899"
TOKEN = "tok3n-SECRET_abcdefghijklmnopqrstuvwxyz0123456789"


class DiscordReceiver:
    def __init__(self, limit: int = 5, window_s: float = 2.0) -> None:
        self.limit, self.window_s = limit, window_s
        self.plan: list[int] = []
        self.messages: list[dict[str, Any]] = []
        self.requests: list[tuple[str, int]] = []  # (path, status answered)
        self.retry_after_for_plan = 0.3  # retry_after of a planned 429
        self._sent_at: list[float] = []
        self._lock = threading.Lock()
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/webhooks/{WEBHOOK_ID}/{TOKEN}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, doc, headers = receiver._answer(self.path, raw)
                data = b"" if doc is None else json.dumps(doc).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()

    def _rate_headers(self, now: float) -> dict[str, str]:
        recent = [t for t in self._sent_at if now - t < self.window_s]
        reset_after = (recent[0] + self.window_s - now) if recent else self.window_s
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.limit - len(recent), 0)),
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": "fake-bucket",
        }

    def _too_many(self, retry_after: float, now: float) -> tuple[int, Any, dict[str, str]]:
        doc = {"message": "You are being rate limited.", "retry_after": round(retry_after, 3), "global": False}
        headers = {
            **self._rate_headers(now),
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Scope": "shared",
        }
        return 429, doc, headers

    def _answer(self, path: str, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            status, doc, headers = self._decide(path, raw)
            self.requests.append((path, status))
            return status, doc, headers

    def _decide(self, path: str, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        now = time.monotonic()
        parts = urlsplit(path)
        if parts.path.rstrip("/") != f"/api/webhooks/{WEBHOOK_ID}/{TOKEN}":
            return 404, {"message": "Unknown Webhook", "code": 10015}, {}
        if self.plan:
            planned = self.plan.pop(0)
            if planned == 429:
                return self._too_many(self.retry_after_for_plan, now)
            if planned == 404:
                return 404, {"message": "Unknown Webhook", "code": 10015}, {}
            return planned, {"message": "internal error", "code": 0}, {}
        self._sent_at = [t for t in self._sent_at if now - t < self.window_s]
        if len(self._sent_at) >= self.limit:
            return self._too_many(self._sent_at[0] + self.window_s - now, now)
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, {"message": "The request body contains invalid JSON.", "code": 50109}, {}
        if not isinstance(body, dict) or not (body.get("content") or body.get("embeds")):
            return 400, {"message": "Cannot send an empty message", "code": 50006}, {}
        self._sent_at.append(now)
        self.messages.append(body)
        headers = self._rate_headers(now)
        if parse_qs(parts.query).get("wait") == ["true"]:
            return 200, {"id": str(len(self.messages)), "webhook_id": WEBHOOK_ID, **body}, headers
        return 204, None, headers

    def titles(self) -> list[str]:
        return [m["embeds"][0]["title"] for m in self.messages]
