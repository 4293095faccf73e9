"""Loopback stand-ins for the hosts models are downloaded from (the machines here cannot reach them).

- `FileHost`: serves files by path with HTTP Range, like Zenodo or the hub's CDN; `plan` makes
  successive GETs misbehave ("500", "truncate": the connection drops after a third, "corrupt").
- `FakeHub`: the Hugging Face hub's `resolve` protocol as huggingface_hub relies on it: HEAD/GET
  `/{owner}/{name}/resolve/{revision}/{file}` -> 404 for a missing repo, revision or file; a small
  file is answered directly with its git blob sha1 as ETag; a large (LFS) file is a 302 to the CDN
  (another port) with `X-Linked-Etag` = its sha256 and `X-Linked-Size`; `X-Repo-Commit` on both.
"""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".pth", ".h5")


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class _Server:
    def __init__(self, handler_class) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FileHost(_Server):
    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files = dict(files or {})
        self.plan: list[str] = []
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header) of every GET
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = unquote(urlsplit(self.path).path)
                host.requests.append((path, self.headers.get("Range")))
                mode = host.plan.pop(0) if host.plan else "ok"
                body = host.files.get(path)
                if body is None:
                    self.send_error(404, "not found")
                    return
                if mode == "500":
                    self.send_error(500, "server busy")
                    return
                rng = self.headers.get("Range")
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                if start >= len(body) and start:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                part = body[start:]
                if mode == "corrupt":
                    part = bytes([part[0] ^ 0xFF]) + part[1:]
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                self.wfile.write(part[: len(part) // 3] if mode == "truncate" else part)
                if mode == "truncate":
                    self.close_connection = True

        super().__init__(Handler)

    def url(self, path: str) -> str:
        return self.base + path


class FakeHub(_Server):
    """`repos` maps "owner/name" to {file: bytes}, all at commit `commit` (also resolvable as "main")."""

    def __init__(self, repos: dict[str, dict[str, bytes]], commit: str = "a" * 40) -> None:
        self.repos, self.commit = repos, commit
        self.cdn = FileHost()
        self.status: int | None = None  # set to 503 to play a hub that is down
        self.served_commit: str | None = None  # set to play a hub serving another commit than asked
        self.heads = 0
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                hub.heads += 1
                self._answer(head=True)

            def do_GET(self):
                self._answer(head=False)

            def _answer(self, head: bool):
                if hub.status:
                    self.send_error(hub.status, "hub unavailable")
                    return
                parts = unquote(urlsplit(self.path).path).strip("/").split("/")
                if len(parts) < 5 or parts[2] != "resolve":
                    self.send_error(404, "not found")
                    return
                repo, revision, name = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
                files = hub.repos.get(repo)
                if files is None or revision not in (hub.commit, "main"):
                    self._error(404, "RepositoryNotFound" if files is None else "RevisionNotFound")
                    return
                if name not in files:
                    self._error(404, "EntryNotFound")
                    return
                data = files[name]
                commit = hub.served_commit or hub.commit
                if name.endswith(LFS_SUFFIXES):
                    sha256 = hashlib.sha256(data).hexdigest()
                    path = f"/repos/{repo}/{sha256}"
                    hub.cdn.files[path] = data
                    self.send_response(302)
                    self.send_header("Location", hub.cdn.url(path))
                    self.send_header("X-Linked-Etag", f'"{sha256}"')
                    self.send_header("X-Linked-Size", str(len(data)))
                    self.send_header("ETag", f'"{sha256}"')
                    self.send_header("X-Repo-Commit", commit)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", f'"{git_blob_sha1(data)}"')
                self.send_header("X-Repo-Commit", commit)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not head:
                    self.wfile.write(data)

            def _error(self, status: int, code: str):
                self.send_response(status)
                self.send_header("X-Error-Code", code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(Handler)

    def close(self) -> None:
        super().close()
        self.cdn.close()


def closed_port_url() -> str:
    """An http URL on loopback where nothing listens: connection refused, as on a machine offline."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
