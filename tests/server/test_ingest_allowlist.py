"""The source allow-list holds for every request the ingest makes, not only the URL a user typed:
a redirect or a playlist entry pointing at another host or port is refused before it is sent,
and what the user is told cannot tell a closed port from an open one."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from server_app import AUTH, job_body
from waiting import wait_for

from server.app import shutdown
from server.demo.stack import free_port


class LoopbackHTTP:
    """A loopback HTTP server answering each path from `routes` (status, headers, body) and
    recording every request it gets; an unknown path is a 404."""

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], str]] | None = None):
        self.routes = routes or {}
        self.requests: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                owner.requests.append(self.path)
                status, headers, body = owner.routes.get(self.path, (404, {}, "not found"))
                data = body.encode()
                self.send_response(status)
                for name, value in {"Content-Length": str(len(data)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def media_playlist(segment_url: str) -> str:
    return "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n" + "".join(
        f"#EXTINF:2.000,live\n{segment_url}?n={n}\n" for n in range(3)
    )


@pytest.fixture
def internal():
    """An HTTP service on a loopback port that no allow-list entry names (an internal admin API)."""
    server = LoopbackHTTP({"/index.m3u8": (200, {}, media_playlist("/0.ts")), "/0.ts": (200, {}, "secret")})
    yield server
    server.close()


@pytest.fixture
def source():
    """The allowed source server; each test sets what it answers."""
    server = LoopbackHTTP()
    yield server
    server.close()


@pytest.fixture
def client_for(make_app, source):
    """A real processing server allowing only the source server's host:port."""
    return lambda: make_app(ALLOWED_SOURCE_HOSTS=[f"127.0.0.1:{source.port}"], RETRY_MIN_S=30.0).test_client()


def job_error(client, webapp_stub, source_url: str) -> str:
    created = client.post("/api/v1/jobs", json=job_body(webapp_stub, source=source_url), headers=AUTH)
    assert created.status_code == 201, created.get_json()
    job = lambda: client.get("/api/v1/jobs/1", headers=AUTH).get_json()  # noqa: E731
    assert wait_for(lambda: job()["state"] == "error", timeout=60), job()
    return job()["last_error"]


@pytest.mark.timeout(120)
def test_a_redirect_to_a_port_that_is_not_allowed_is_never_followed(client_for, source, internal, webapp_stub):
    source.routes["/live.m3u8"] = (302, {"Location": f"http://127.0.0.1:{internal.port}/index.m3u8"}, "")
    error = job_error(client_for(), webapp_stub, f"hls://http://127.0.0.1:{source.port}/live.m3u8")
    assert error == f"source not allowed: the stream led to 127.0.0.1:{internal.port}, which is not on the allow-list"
    assert source.requests == ["/live.m3u8"]
    assert internal.requests == [], "the internal service never saw a request"


@pytest.mark.timeout(120)
def test_playlist_entries_on_a_port_that_is_not_allowed_are_never_fetched(client_for, source, internal, webapp_stub):
    source.routes["/live.m3u8"] = (200, {}, media_playlist(f"http://127.0.0.1:{internal.port}/0.ts"))
    error = job_error(client_for(), webapp_stub, f"hls://http://127.0.0.1:{source.port}/live.m3u8")
    assert error == f"source not allowed: the stream led to 127.0.0.1:{internal.port}, which is not on the allow-list"
    assert internal.requests == []


def test_the_guard_refuses_other_schemes_and_ports_before_any_adapter_is_picked(internal):
    from streamlink import Streamlink
    from streamlink.exceptions import PluginError

    from server.egress import guard_session

    http = Streamlink().http
    guard = guard_session(http, ["127.0.0.1:1"])
    for url in ("file:///etc/passwd", f"http://127.0.0.1:{internal.port}/index.m3u8"):
        with pytest.raises(PluginError, match="is not on the source allow-list"):
            http.get(url)
    assert guard.refused == "file URL" and internal.requests == []


@pytest.mark.timeout(120)
def test_the_error_a_user_sees_is_the_same_for_a_closed_port_and_an_open_one(make_app, webapp_stub):
    """Both ports are allowed here (the operator listed them); what fails there is only logged."""
    answering = LoopbackHTTP({"/live.m3u8": (500, {}, "Internal Server Error: db at 10.0.0.5 refused")})
    closed = free_port()
    try:
        errors = []
        for port in (answering.port, closed):
            app = make_app(
                ALLOWED_SOURCE_HOSTS=[f"127.0.0.1:{answering.port}", f"127.0.0.1:{closed}"],
                RETRY_MIN_S=30.0,
                RESUME_JOBS=False,
            )
            errors.append(job_error(app.test_client(), webapp_stub, f"hls://http://127.0.0.1:{port}/live.m3u8"))
            shutdown(app)
        assert answering.requests == ["/live.m3u8"]
    finally:
        answering.close()
    assert errors[0] == errors[1] == "could not open the stream (details in the server log)"
    assert not re.search(r"\d+", errors[0])
