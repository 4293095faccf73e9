"""Fixtures shared by every test: the demo channel's real video and chat, served on loopback."""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _hermetic_environment() -> Path:
    """Make the suite see only the documented defaults, whatever machine it runs on.

    Done at import, before any app or Django is set up, and in os.environ so that every server
    and webapp the tests start as a subprocess inherits it:
    - `HIGHLIGHTS_CONFIG` points at an empty file: the checkout's config.py is never read, and
      `HIGHLIGHTS_SECRETS` at a missing one: nor is a generated var/secrets.env;
    - every setting config.example.py documents is removed from the environment (a developer's
      shell exports must not change an outcome; a test that needs one sets it itself);
    - the PANNs weight cache is an empty folder: cached weights do not switch audio tagging on.
    Returns the session's folder (removed at exit).
    """
    folder = Path(tempfile.mkdtemp(prefix="highlights-tests-"))
    atexit.register(shutil.rmtree, folder, True)
    empty = folder / "config.py"
    empty.write_text("# The test session's config.py: every setting at its default.\n")
    # Commented-out entries too: the secrets are documented as "# SERVER_API_TOKEN = ...".
    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)\s*=", (ROOT / "config.example.py").read_text(), re.MULTILINE)
    for name in names:
        os.environ.pop(name, None)
    os.environ["HIGHLIGHTS_CONFIG"] = str(empty)
    os.environ["HIGHLIGHTS_SECRETS"] = str(folder / "no-secrets.env")
    os.environ["PANNS_CACHE"] = str(folder / "panns-cache")
    os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    return folder


SESSION_FOLDER = _hermetic_environment()
CHAT_LOG = ROOT / "server" / "demo" / "media" / "xqcow-2019-09-15.irc.gz"

try:  # Browser assertions wait for pages that poll every 3-5 s; Playwright's 5 s default is too
    from playwright.sync_api import expect  # tight on a busy 2-core CI machine.

    expect.set_options(timeout=15_000)
except ImportError:
    pass


@pytest.fixture(scope="session", autouse=True)
def no_downloaded_models(tmp_path_factory):
    """Hermetic: the models run.sh downloaded (PANNs, the chat sentiment model) stay out of sight,
    so "auto" settings and default checkpoints behave the same on every machine. Session-wide and
    first, so the servers that module fixtures start as child processes inherit it too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HIGHLIGHTS_CACHE", str(tmp_path_factory.getbasetemp() / "empty-model-cache"))
        patch.delenv("PANNS_CACHE", raising=False)
        yield


@pytest.fixture(scope="session")
def demo_segments(tmp_path_factory):
    """2 s MPEG-TS segments cut from the real demo clips (made once per test session)."""
    from server.demo.segments import prepare_segments

    return prepare_segments(tmp_path_factory.mktemp("demo-segments"))


@pytest.fixture
def hls_server(demo_segments):
    """A live HLS channel `demo_channel` on loopback (sliding playlist, real time)."""
    from server.demo.hls_server import LiveHLSServer

    server = LiveHLSServer(demo_segments, channels=("demo_channel",))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def irc_server():
    """A Twitch-dialect IRC server replaying the real #xqcow log in real time."""
    from server.demo.irc_server import TwitchIRCServer

    server = TwitchIRCServer(CHAT_LOG, speed=1.0)
    server.start()
    yield server
    server.stop()


class RecordingWebapp:
    """A loopback HTTP endpoint standing in for the webapp's ingest API; it records every POST.

    `status` is what it answers (set 503 to play a webapp that is down, 404 for a deleted stream:
    the API's JSON `{"error": "no such stream"}`); `status_for` overrides it for paths starting
    with a prefix (e.g. {"/api/v1/streams/1/": 500}). A path outside /api/v1/streams/ gets an
    HTML 404 page, as Django answers a wrong URL prefix.
    """

    def __init__(self):
        self.requests: list[tuple[str, dict, str]] = []
        self.status = 200
        self.status_for: dict[str, int] = {}
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = next(
                    (code for prefix, code in recorder.status_for.items() if self.path.startswith(prefix)),
                    recorder.status,
                )
                answer, content_type = b"", "application/json"
                if not self.path.startswith("/api/v1/streams/"):
                    status, answer, content_type = 404, b"<html><h1>Not Found</h1></html>", "text/html"
                elif status == 404:
                    answer = json.dumps({"error": "no such stream"}).encode()
                if status < 300:
                    recorder.requests.append((self.path, json.loads(body), self.headers.get("Authorization", "")))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def posted(self, kind: str) -> list[dict]:
        return [body for path, body, _ in self.requests if path.endswith("/" + kind)]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def webapp_stub():
    stub = RecordingWebapp()
    yield stub
    stub.close()
