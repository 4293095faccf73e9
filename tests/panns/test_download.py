"""Checkpoint download against a loopback HTTP server: verify, resume, retry, leave nothing partial."""

from __future__ import annotations

import hashlib
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from panns.download import CHECKPOINTS, CheckpointFile, DownloadError, cache_path, download

BODY = os.urandom(300_000)  # a small stand-in for a checkpoint file
SPEC = CheckpointFile("Fake_mAP=0.1.pth", len(BODY), hashlib.sha256(BODY).hexdigest())


class FileServer:
    """Serves BODY with Range support; `plan` says how each successive request misbehaves."""

    def __init__(self):
        self.plan: list[str] = []
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.ranges.append(self.headers.get("Range"))
                mode = server.plan.pop(0) if server.plan else "ok"
                if mode == "500":
                    self.send_error(500, "server busy")
                    return
                start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers.get("Range") else 0
                body = BODY[start:]
                if mode == "corrupt":
                    body = bytes([body[0] ^ 0xFF]) + body[1:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(BODY) - 1}/{len(BODY)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # "truncate": the connection drops after a third of the promised bytes.
                self.wfile.write(body[: len(body) // 3] if mode == "truncate" else body)
                if mode == "truncate":
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/files/{SPEC.file}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server():
    s = FileServer()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def fetch(server, folder, **kwargs):
    return download("Fake", folder, source=SPEC, url=server.url, backoff_s=0.01, timeout_s=5, progress=False, **kwargs)


def test_a_clean_download_is_verified_and_moved_into_place(server, tmp_path):
    path = fetch(server, tmp_path)
    assert path == tmp_path / SPEC.file and path.read_bytes() == BODY
    assert sorted(p.name for p in tmp_path.iterdir()) == [SPEC.file]


def test_a_dropped_connection_resumes_with_a_range_request(server, tmp_path):
    server.plan = ["truncate"]
    assert fetch(server, tmp_path).read_bytes() == BODY
    first, resumed = server.ranges
    assert first is None and resumed.startswith("bytes=") and 0 < int(resumed[6:-1]) <= len(BODY) // 3


def test_a_server_error_is_retried(server, tmp_path):
    server.plan = ["500", "500"]
    assert fetch(server, tmp_path).read_bytes() == BODY
    assert len(server.ranges) == 3


@pytest.mark.parametrize("plan, message", [
    pytest.param(["corrupt"] * 5, "corrupt download", id="corrupt-every-time"),
    pytest.param(["truncate"] * 5, "could not download", id="truncated-every-time"),
    pytest.param(["500"] * 5, "500", id="server-error-every-time"),
])
def test_a_failed_download_leaves_no_file_behind(server, tmp_path, plan, message):
    server.plan = plan
    with pytest.raises(DownloadError, match=message):
        fetch(server, tmp_path, retries=2)
    assert list(tmp_path.iterdir()) == []


def test_a_corrupt_download_starts_over_instead_of_resuming(server, tmp_path):
    server.plan = ["corrupt"]
    assert fetch(server, tmp_path).read_bytes() == BODY
    assert server.ranges == [None, None]


def test_a_verified_file_in_place_is_not_fetched_again(server, tmp_path):
    fetch(server, tmp_path)
    fetch(server, tmp_path)
    assert len(server.ranges) == 1


def test_a_damaged_file_in_place_is_replaced(server, tmp_path):
    (tmp_path / SPEC.file).write_bytes(b"not a checkpoint")
    assert fetch(server, tmp_path).read_bytes() == BODY


def test_the_cache_folder_follows_panns_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("PANNS_CACHE", str(tmp_path))
    assert cache_path("Cnn10") == tmp_path / "Cnn10_mAP=0.380.pth"


def test_the_published_table_points_at_zenodo():
    assert CHECKPOINTS["Cnn14"].url == "https://zenodo.org/record/3987831/files/Cnn14_mAP%3D0.431.pth?download=1"
    assert CHECKPOINTS["Cnn14"].size == 327_428_481
