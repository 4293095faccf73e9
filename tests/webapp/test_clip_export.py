"""Trim and export a highlight vertical or square, against the real processing server on loopback:
the render starts, its progress is polled, the result is stored with the clip and downloads; only
the owner sees any of it; bad trims and forged posts are refused."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp

from django.conf import settings
from django.test import Client, override_settings
from werkzeug.serving import make_server

from server import media
from webapp.streams.models import ClipRender, Highlight
from webapp.test import BaseTestCase

T0 = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)


class ClipExportTestCase(BaseTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from server.app import create_app, shutdown

        cls.folder = Path(mkdtemp(prefix="export-test-"))
        holder: dict = {}
        cls.http = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True)
        base = f"http://127.0.0.1:{cls.http.server_port}"
        cls.media_url = f"{base}/media"
        cls.app = holder["app"] = create_app(
            {
                "SERVER_API_TOKEN": settings.SERVER_API_TOKEN,
                "INGEST_API_TOKEN": settings.INGEST_API_TOKEN,
                "DATA_DIR": cls.folder / "data",
                "MEDIA_ROOT": cls.folder / "media",
                "MEDIA_BASE_URL": cls.media_url,
                "RESUME_JOBS": False,
                "CHAT_SENTIMENT_BACKEND": "lexicon",
            }
        )
        cls.shutdown_app = staticmethod(shutdown)
        threading.Thread(target=cls.http.serve_forever, daemon=True).start()
        cls.overrides = override_settings(SERVER_URL=base, CLIP_STORAGE_URLS=[cls.media_url])
        cls.overrides.enable()

    @classmethod
    def tearDownClass(cls):
        cls.overrides.disable()
        cls.http.shutdown()
        cls.shutdown_app(cls.app)
        super().tearDownClass()

    def highlight(self, seconds: int = 4) -> Highlight:
        folder = self.folder / "media" / str(self.stream.id)
        folder.mkdir(parents=True, exist_ok=True)
        clip = folder / "k1-abc.mp4"
        if not clip.exists():
            media.run_ffmpeg(
                ["-f", "lavfi", "-i", f"testsrc2=size=320x180:rate=25:duration={seconds}"]
                + ["-f", "lavfi", "-i", f"sine=duration={seconds}", "-c:v", "libx264", "-preset", "ultrafast"]
                + ["-c:a", "aac", "-shortest", str(clip)]
            )
        return Highlight.objects.create(
            stream=self.stream,
            key="k1",
            start_utc=T0,
            end_utc=T0,
            start_offset_s=60.0,
            end_offset_s=60.0 + seconds,
            score=0.8,
            clip_url=f"{self.media_url}/{self.stream.id}/{clip.name}",
        )

    def export(self, h: Highlight, client: Client | None = None, **form):
        fields = {"layout": "vertical", "start_s": "0.5", "end_s": "2.5", **form}
        return (client or self.client).post(
            f"/streams/{self.stream.id}/highlights/{h.id}/renders/", fields, HTTP_ACCEPT="application/json"
        )

    def test_a_landscape_trim_downloads_the_stored_clip_cut_to_the_chosen_range(self):
        h = self.highlight()
        self.login()
        render = self.export(h, layout="landscape", start_s="1.0", end_s="3.0").json()["render"]
        deadline = time.monotonic() + 120
        while render["state"] not in ("ready", "error") and time.monotonic() < deadline:
            time.sleep(0.3)
            render = self.client.get(render["status_url"]).json()["render"]
        self.assertEqual(render["state"], "ready", render["error"])
        saved = self.folder / "landscape.mp4"
        saved.write_bytes(b"".join(self.client.get(render["download_url"]).streaming_content))
        clip = self.folder / "media" / str(self.stream.id) / "k1-abc.mp4"
        source = next(s for s in media.probe(clip)["streams"] if s["codec_type"] == "video")
        video = next(s for s in media.probe(saved)["streams"] if s["codec_type"] == "video")
        self.assertEqual((video["width"], video["height"]), (source["width"], source["height"]))
        self.assertAlmostEqual(media.duration_of(saved), 2.0, delta=0.15)

    def test_a_trimmed_vertical_export_shows_its_progress_then_plays_and_downloads(self):
        h = self.highlight()
        self.login()
        started = self.export(h)
        self.assertEqual(started.status_code, 202, started.content)
        render = started.json()["render"]
        self.assertIn(render["state"], ("queued", "rendering"))
        self.assertEqual((render["start_s"], render["end_s"], render["layout"]), (0.5, 2.5, "vertical"))
        seen, deadline = [], time.monotonic() + 150
        while render["state"] not in ("ready", "error") and time.monotonic() < deadline:
            time.sleep(0.3)
            render = self.client.get(render["status_url"]).json()["render"]
            seen.append(render["state"])
        self.assertEqual(render["state"], "ready", render["error"])
        self.assertTrue(render["url"].startswith(f"{self.media_url}/{self.stream.id}/k1-vertical-"))

        download = self.client.get(render["download_url"])
        self.assertEqual(download.status_code, 200)
        self.assertEqual(download["Content-Disposition"], 'attachment; filename="xqcow-0-01-00-vertical.mp4"')
        saved = self.folder / "out.mp4"
        saved.write_bytes(b"".join(download.streaming_content))
        video = next(s for s in media.probe(saved)["streams"] if s["codec_type"] == "video")
        self.assertEqual((video["width"], video["height"]), (1080, 1920))
        self.assertAlmostEqual(media.duration_of(saved), 2.0, delta=0.1)
        # the page lists the export with the highlight, on reload too
        status = self.client.get(f"/streams/{self.stream.id}/status.json").json()
        self.assertEqual([r["state"] for r in status["highlights"][0]["renders"]], ["ready"])

    def test_bob_can_neither_export_nor_see_alices_exports(self):
        h = self.highlight()
        render = ClipRender.objects.create(highlight=h, layout="square", start_s=0, end_s=2, server_id="x")
        self.login(self.bob)
        self.assertEqual(self.export(h).status_code, 404)
        self.assertEqual(self.client.get(f"/streams/{self.stream.id}/renders/{render.id}.json").status_code, 404)
        self.assertEqual(self.client.get(f"/streams/{self.stream.id}/renders/{render.id}/download/").status_code, 404)
        self.assertFalse(ClipRender.objects.exclude(pk=render.pk).exists())

    def test_a_trim_outside_the_clip_or_too_short_is_refused_in_words(self):
        h = self.highlight()
        self.login()
        for form, words in (
            ({"end_s": "9"}, "within the clip"),
            ({"start_s": "2", "end_s": "2.5"}, "at least 1 s"),
            ({"layout": "wide"}, "vertical, square or landscape"),
            ({"start_s": "nan"}, "numbers of seconds"),
        ):
            r = self.export(h, **form)
            self.assertEqual(r.status_code, 400)
            self.assertIn(words, r.json()["error"])
        self.assertFalse(ClipRender.objects.exists())

    def test_an_export_needs_the_csrf_token_and_a_post(self):
        h = self.highlight()
        forged = Client(enforce_csrf_checks=True)
        forged.force_login(self.alice)
        self.assertEqual(self.export(h, client=forged).status_code, 403)
        self.login()
        self.assertEqual(self.client.get(f"/streams/{self.stream.id}/highlights/{h.id}/renders/").status_code, 405)
        self.assertFalse(ClipRender.objects.exists())

    def test_an_export_the_server_lost_reads_as_failed_with_the_reason(self):
        h = self.highlight()
        render = ClipRender.objects.create(highlight=h, layout="vertical", start_s=0, end_s=2, server_id="lost")
        self.login()
        doc = self.client.get(f"/streams/{self.stream.id}/renders/{render.id}.json").json()["render"]
        self.assertEqual(doc["state"], "error")
        self.assertIn("restarted", doc["error"])

    def test_exports_go_with_the_stream(self):
        h = self.highlight()
        ClipRender.objects.create(highlight=h, layout="vertical", start_s=0, end_s=2, server_id="x")
        self.stream.delete()
        self.assertFalse(ClipRender.objects.exists())
