"""The stream page's script in a real browser: new highlights and states appear without reload.

Needs a Chromium (Playwright's own, or /usr/bin/chromium); skipped when there is none.
"""

import json
import os
import shutil
import unittest
import urllib.request
from datetime import UTC, datetime

from django.contrib.auth.models import User
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.test import override_settings

from webapp.streams.models import Highlight, Segment, Stream
from webapp.test import PASSWORD, FakeProcessingServer

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
T0 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
TOKEN = "browser-test-token"


def _launch(playwright):
    try:
        return playwright.chromium.launch()
    except Exception:
        if not CHROMIUM:
            raise unittest.SkipTest("no Chromium for Playwright") from None
        return playwright.chromium.launch(executable_path=CHROMIUM)


class BrowserTestCase(StaticLiveServerTestCase):
    """A live Django server and one headless Chromium for the test class."""

    @classmethod
    def setUpClass(cls):
        # Playwright's sync API keeps an event loop in this thread; the ORM calls here are sync.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        super().setUpClass()
        cls.playwright = sync_playwright().start()
        try:
            cls.browser = _launch(cls.playwright)
        except BaseException:
            cls.playwright.stop()
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.playwright.stop()
        super().tearDownClass()
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    def page_as(self, user):
        """A fresh browser page (own cookies) logged in as `user`; closed after the test."""
        self.client.force_login(user)
        context = self.browser.new_context()
        self.addCleanup(context.close)
        context.add_cookies(
            [{"name": "sessionid", "value": self.client.cookies["sessionid"].value, "url": self.live_server_url}]
        )
        return context.new_page()


@unittest.skipIf(sync_playwright is None, "playwright is not installed")
@override_settings(INGEST_API_TOKEN=TOKEN)
class StreamPageBrowserTestCase(BrowserTestCase):
    def setUp(self):
        self.alice = User.objects.create_user("alice", password=PASSWORD)
        self.stream = Stream.objects.create(owner=self.alice, source="xqcow", chat_channel="xqcow", state="starting")
        for seq, score in enumerate([0.1, 0.8, 0.3]):
            Segment.objects.create(
                stream=self.stream, seq=seq, start_utc=T0, end_utc=T0, offset_s=seq * 10.0, duration_s=10.0, score=score
            )
        self.first = Highlight.objects.create(
            stream=self.stream,
            key="k1",
            start_utc=T0,
            end_utc=T0,
            start_offset_s=10.0,
            end_offset_s=30.0,
            score=0.8,
            clip_url="http://127.0.0.1:9/a.mp4",
        )
        self.page = self.page_as(self.alice)

    def ingest(self, what, doc):
        request = urllib.request.Request(
            f"{self.live_server_url}/api/v1/streams/{self.stream.id}/{what}",
            data=json.dumps(doc).encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request) as response:
            return response.status

    def test_new_highlights_and_states_appear_without_reloading(self):
        page = self.page
        page.goto(f"{self.live_server_url}/streams/{self.stream.id}/")
        expect(page.locator("#timeline polyline")).to_have_count(1)
        # No bar yet (the server's selector is warming up): no dashed line, and the legend says so.
        expect(page.locator("#timeline line.tl-bar")).to_have_count(0)
        expect(page.locator("#timeline-legend")).to_contain_text("no bar yet")
        expect(page.locator("#highlights > li")).to_have_count(1)

        status = self.ingest(
            "highlights",
            {
                "key": "k2",
                "start_utc": "2026-11-30T07:01:00Z",
                "end_utc": "2026-11-30T07:01:30Z",
                "start_offset_s": 3723.0,
                "end_offset_s": 3753.0,
                "score": 0.91,
                "clip_url": "http://127.0.0.1:9/b.mp4",
                "thumbnail_url": "http://127.0.0.1:9/b.jpg",
                "reasons": [{"feature": "chat_rate_ratio", "value": 4.2, "text": "chat <b>4.2x</b> its usual rate"}],
            },
        )
        self.assertEqual(status, 201)
        self.ingest(
            "status",
            {"state": "live", "segments_done": 3, "last_error": None, "degraded": ["audio tagging off: no checkpoint"]},
        )

        cards = page.locator("#highlights > li")
        expect(cards).to_have_count(2, timeout=8000)
        newest = cards.first
        expect(newest.locator(".offset")).to_have_text("1:02:03")
        expect(newest.locator(".score")).to_have_text("0.91")
        expect(newest.locator(".reasons li")).to_have_text("chat <b>4.2x</b> its usual rate")
        video = newest.locator("video")
        expect(video).to_have_attribute("src", "http://127.0.0.1:9/b.mp4")
        expect(video).to_have_attribute("poster", "http://127.0.0.1:9/b.jpg")
        expect(video).to_have_attribute("preload", "none")
        expect(page.locator("#state")).to_have_text("Live")
        # Its newest segment ended at T0, long ago: "Live" may be stale, and the page says so.
        expect(page.locator("#quiet-note")).to_contain_text("No new segment from the processing server for")
        expect(page.locator("#degraded li")).to_have_text("audio tagging off: no checkpoint")

        # A new segment joins the ones the page has (it asks only for segments after the last).
        expect(page.locator("#timeline circle")).to_have_count(3)
        self.ingest(
            "segments",
            {
                "threshold": 0.5,
                "segments": [
                    {
                        "seq": 3,
                        "start_utc": "2026-11-30T07:00:30Z",
                        "end_utc": "2026-11-30T07:00:40Z",
                        "offset_s": 30.0,
                        "duration_s": 10.0,
                        "score": 0.2,
                        "features": {},
                    }
                ],
            },
        )
        expect(page.locator("#timeline circle")).to_have_count(4, timeout=8000)
        expect(page.locator("#timeline line.tl-bar")).to_have_count(1)  # the bar the batch brought
        expect(page.locator("#timeline-legend")).to_contain_text("dashed line: the bar 0.50")
        self.assertEqual(len(page.locator("#timeline polyline").get_attribute("points").split()), 4)

        self.ingest("status", {"state": "error", "segments_done": 3, "last_error": "ffmpeg exited", "degraded": []})
        expect(page.locator("#last-error")).to_have_text("ffmpeg exited", timeout=8000)
        expect(page.locator("#state")).to_have_text("Error")
        expect(page.locator("#announce")).to_have_text("xqcow is now Error.")  # said to screen readers

    def test_a_click_on_the_timeline_plays_the_nearest_clip_from_that_moment(self):
        for seq in range(3, 11):
            Segment.objects.create(
                stream=self.stream, seq=seq, start_utc=T0, end_utc=T0, offset_s=seq * 10.0, duration_s=10.0, score=0.2
            )
        Highlight.objects.create(
            stream=self.stream,
            key="k2",
            start_utc=T0,
            end_utc=T0,
            start_offset_s=70.0,
            end_offset_s=90.0,
            score=0.9,
            clip_url="http://127.0.0.1:9/b.mp4",
        )
        page = self.page
        page.goto(f"{self.live_server_url}/streams/{self.stream.id}/")
        expect(page.locator("#timeline .tl-highlight")).to_have_count(2)
        chart = page.locator("#timeline")
        width = chart.evaluate("c => c.clientWidth")

        def click_at(offset):  # the plot runs from 34 px to width - 10 px over 0..110 s (11 segments)
            chart.click(position={"x": 34 + offset / 110 * (width - 44), "y": 80})

        readout = page.locator("#timeline-readout")
        click_at(62)  # nearer the second clip (8 s) than the first (32 s): it plays from its start
        expect(readout).to_have_text("Playing the highlight at 0:01:10 from 0:01:10")
        second = page.locator("#highlights > li[data-highlight-id]").first
        expect(second).to_be_in_viewport()
        expect(second.locator("video")).to_be_focused()
        click_at(20)  # inside the first clip (10-30 s): it plays 10 s in
        expect(readout).to_have_text("Playing the highlight at 0:00:10 from 0:00:20")
        expect(page.locator("#highlights > li").last.locator("video")).to_be_focused()

        # Keyboard: each highlight on the chart is a button in the tab order.
        mark = page.get_by_role("button", name="Highlight at 0:01:10, score 0.90: play it")
        mark.focus()
        page.keyboard.press("Enter")
        expect(readout).to_have_text("Playing the highlight at 0:01:10 from 0:01:10")

    def test_a_dot_drawn_over_a_highlight_band_does_not_block_clicking_it(self):
        # Segment 3 (30-40 s) scores 0.53: its dot sits in the middle of the band of a highlight
        # over 30-40 s, where a click on the band lands.
        Segment.objects.create(
            stream=self.stream, seq=3, start_utc=T0, end_utc=T0, offset_s=30.0, duration_s=10.0, score=0.53
        )
        Stream.objects.filter(pk=self.stream.pk).update(bar=0.4)
        Highlight.objects.create(
            stream=self.stream,
            key="k2",
            start_utc=T0,
            end_utc=T0,
            start_offset_s=30.0,
            end_offset_s=40.0,
            score=0.5,
            clip_url="http://127.0.0.1:9/b.mp4",
        )
        page = self.page
        page.goto(f"{self.live_server_url}/streams/{self.stream.id}/")
        page.get_by_role("button", name="Highlight at 0:00:30, score 0.50: play it").click(timeout=5000)
        expect(page.locator("#timeline-readout")).to_have_text("Playing the highlight at 0:00:30 from 0:00:35")

    def test_cards_are_one_column_at_phone_width(self):
        Highlight.objects.create(
            stream=self.stream,
            key="k2",
            start_utc=T0,
            end_utc=T0,
            start_offset_s=40.0,
            end_offset_s=50.0,
            score=0.7,
            clip_url="http://127.0.0.1:9/b.mp4",
        )
        self.page.set_viewport_size({"width": 375, "height": 800})
        self.page.goto(f"{self.live_server_url}/streams/{self.stream.id}/")
        boxes = [c.bounding_box() for c in self.page.locator("#highlights > li").all()]
        self.assertEqual(boxes[0]["x"], boxes[1]["x"])
        self.assertLessEqual(boxes[0]["width"], 375)

    def test_the_trash_button_asks_first(self):
        page = self.page
        page.goto(f"{self.live_server_url}/streams/{self.stream.id}/")
        asked = []

        def dismiss(dialog):
            asked.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", dismiss)
        page.get_by_role("button", name="Stop tracking and delete xqcow").click()
        page.wait_for_timeout(300)
        self.assertEqual(asked, ["Stop tracking and delete xqcow?"])
        self.assertTrue(Stream.objects.filter(pk=self.stream.pk).exists())

        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            page.once("dialog", lambda dialog: dialog.accept())
            page.get_by_role("button", name="Stop tracking and delete xqcow").click()
            expect(page.locator(".messages")).to_contain_text("Stopped tracking and deleted xqcow.")
        self.assertFalse(Stream.objects.filter(pk=self.stream.pk).exists())
        self.assertEqual(server.requests[0].method, "DELETE")
