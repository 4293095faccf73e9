"""The download button fetches only from the clip storage, and never follows a redirect: a
highlight's URL comes from the processing server, and with the ingest token anyone could otherwise
make the webapp read its internal network (issue 11, finding 2: /healthz read back this way)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.test import override_settings

from webapp.streams.models import Highlight
from webapp.test import BaseTestCase

T0 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
SECRET = b'{"ok": true, "internal": "only for loopback"}'


class InternalService(BaseHTTPRequestHandler):
    """A loopback service: /healthz is internal, /media/clip.mp4 is a clip, /media/moved redirects."""

    hits: list[str] = []

    def do_GET(self):
        type(self).hits.append(self.path)
        if self.path == "/media/moved.mp4":
            self.send_response(302)
            self.send_header("Location", "/healthz")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = SECRET if self.path == "/healthz" else b"\x00\x00\x00\x18ftypmp42 a clip"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class StorageOnlyDownloadTestCase(BaseTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.service = ThreadingHTTPServer(("127.0.0.1", 0), InternalService)
        threading.Thread(target=cls.service.serve_forever, args=(0.05,), daemon=True).start()
        cls.base = f"http://127.0.0.1:{cls.service.server_address[1]}"

    @classmethod
    def tearDownClass(cls):
        cls.service.shutdown()
        cls.service.server_close()
        super().tearDownClass()

    def setUp(self):
        InternalService.hits.clear()
        self.login()

    def download(self, clip_url: str):
        h = Highlight.objects.create(
            stream=self.stream,
            key=f"k{Highlight.objects.count()}",
            start_utc=T0,
            end_utc=T0,
            start_offset_s=0.0,
            end_offset_s=10.0,
            score=0.8,
            clip_url=clip_url,
        )
        with override_settings(CLIP_STORAGE_URLS=[f"{self.base}/media"]):
            return self.client.get(f"/streams/{self.stream.id}/highlights/{h.id}/download/")

    def test_a_clip_in_storage_downloads(self):
        r = self.download(f"{self.base}/media/clip.mp4")
        self.assertEqual(r.status_code, 200)
        self.assertIn(b"a clip", b"".join(r.streaming_content))

    def test_an_internal_url_outside_storage_is_refused_without_being_fetched(self):
        for url in [
            f"{self.base}/healthz",
            f"{self.base}/media/../healthz",
            f"{self.base}/media/%2e%2e/healthz",
            f"{self.base}/mediaX/clip.mp4",
            f"http://localhost:{self.service.server_address[1]}/healthz",
        ]:
            with self.subTest(url=url):
                r = self.download(url)
                self.assertContains(r, "its address is not in the clip storage", status_code=502)
                self.assertNotIn(SECRET, r.content)
        self.assertEqual(InternalService.hits, [])

    def test_a_redirect_from_storage_is_not_followed(self):
        r = self.download(f"{self.base}/media/moved.mp4")
        self.assertContains(r, "storage answered HTTP 302", status_code=502)
        self.assertEqual(InternalService.hits, ["/media/moved.mp4"])
