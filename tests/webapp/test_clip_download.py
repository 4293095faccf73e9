"""The download button: the clip comes through the webapp as an attachment with a readable name."""

from __future__ import annotations

import functools
import threading
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from django.test import override_settings

from webapp.streams.models import Highlight
from webapp.test import BaseTestCase, closed_port_url

T0 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
CLIP = Path(__file__).resolve().parents[2] / "server" / "demo" / "media" / "seed-lobby.mp4"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class ClipDownloadTestCase(BaseTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A real file server on loopback standing in for the processing server's /media/.
        handler = functools.partial(QuietHandler, directory=str(CLIP.parent))
        cls.storage = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=cls.storage.serve_forever, args=(0.05,), daemon=True).start()
        cls.storage_url = f"http://127.0.0.1:{cls.storage.server_address[1]}"
        cls.storage_settings = override_settings(CLIP_STORAGE_URLS=[cls.storage_url])
        cls.storage_settings.enable()

    @classmethod
    def tearDownClass(cls):
        cls.storage_settings.disable()
        cls.storage.shutdown()
        cls.storage.server_close()
        super().tearDownClass()

    def highlight(self, clip_url: str) -> Highlight:
        return Highlight.objects.create(
            stream=self.stream,
            key="k1",
            start_utc=T0,
            end_utc=T0,
            start_offset_s=3723.0,
            end_offset_s=3743.0,
            score=0.8,
            clip_url=clip_url,
        )

    def url(self, highlight: Highlight) -> str:
        return f"/streams/{self.stream.id}/highlights/{highlight.id}/download/"

    def test_it_streams_the_clip_as_an_attachment_named_after_the_stream_and_moment(self):
        h = self.highlight(f"{self.storage_url}/{CLIP.name}")
        self.login()
        r = self.client.get(self.url(h))
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r["Content-Type"], "video/mp4")
        self.assertEqual(r["Content-Disposition"], 'attachment; filename="xqcow-1-02-03.mp4"')
        self.assertEqual(int(r["Content-Length"]), CLIP.stat().st_size)
        self.assertEqual(b"".join(r.streaming_content), CLIP.read_bytes())

    def test_charlie_should_not_download_alices_clip(self):
        h = self.highlight(f"{self.storage_url}/{CLIP.name}")
        self.login(self.bob)
        self.assertEqual(self.client.get(self.url(h)).status_code, 404)

    def test_it_needs_a_login(self):
        h = self.highlight(f"{self.storage_url}/{CLIP.name}")
        r = self.client.get(self.url(h))
        self.assertEqual(r.status_code, 302)
        self.assertIn("/accounts/login/", r["Location"])

    def test_a_clip_gone_from_storage_is_a_502_in_words(self):
        h = self.highlight(f"{self.storage_url}/no-such-clip.mp4")
        self.login()
        r = self.client.get(self.url(h))
        self.assertContains(r, "The clip could not be fetched: storage answered HTTP 404", status_code=502)

    def test_storage_that_is_down_is_a_502_in_words(self):
        storage = closed_port_url()
        h = self.highlight(f"{storage}/a.mp4")
        self.login()
        with override_settings(CLIP_STORAGE_URLS=[storage]):
            r = self.client.get(self.url(h))
        self.assertContains(r, "The clip could not be fetched: storage is not reachable", status_code=502)

    def test_the_status_json_links_each_highlight_to_its_download(self):
        h = self.highlight(f"{self.storage_url}/{CLIP.name}")
        self.login()
        doc = self.client.get(f"/streams/{self.stream.id}/status.json").json()
        self.assertEqual(doc["highlights"][0]["download_url"], self.url(h))
