"""The feedback script in a real browser: thumbs on every card (also new ones), a missed moment
picked on the timeline, and the highlight budget slider reaching the processing server."""

import unittest
from datetime import UTC, datetime

from django.contrib.auth.models import User
from django.test import override_settings
from test_stream_page_browser import BrowserTestCase, sync_playwright

from webapp.feedback.models import HighlightBudget, MissedMoment, Vote
from webapp.streams.models import Highlight, Segment, Stream
from webapp.test import PASSWORD, FakeProcessingServer

if sync_playwright is not None:
    from playwright.sync_api import expect

T0 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


@unittest.skipIf(sync_playwright is None, "playwright is not installed")
class FeedbackBrowserTestCase(BrowserTestCase):
    def setUp(self):
        self.alice = User.objects.create_user("alice", password=PASSWORD)
        self.stream = Stream.objects.create(owner=self.alice, source="xqcow", state="live", bar=0.5)
        for seq, score in enumerate([0.1, 0.8, 0.3, 0.2, 0.9]):
            Segment.objects.create(
                stream=self.stream, seq=seq, start_utc=T0, end_utc=T0, offset_s=seq * 10.0, duration_s=10.0, score=score
            )
        self.highlight = Highlight.objects.create(
            stream=self.stream,
            key="k1",
            start_utc=T0,
            end_utc=T0,
            start_offset_s=0.0,
            end_offset_s=20.0,
            score=0.8,
            clip_url="http://127.0.0.1:9/a.mp4",
        )
        self.page = self.page_as(self.alice)
        self.page.goto(f"{self.live_server_url}/streams/{self.stream.id}/")

    def test_thumbs_toggle_and_new_cards_get_them_too(self):
        up = self.page.locator(f'[data-highlight-id="{self.highlight.id}"] .vote-up')
        up.click()
        expect(up).to_have_attribute("aria-pressed", "true")
        self.assertEqual(Vote.objects.get().value, Vote.UP)
        up.click()
        expect(up).to_have_attribute("aria-pressed", "false")
        self.assertFalse(Vote.objects.exists())

        later = Highlight.objects.create(
            stream=self.stream,
            key="k2",
            start_utc=T0,
            end_utc=T0,
            start_offset_s=40.0,
            end_offset_s=50.0,
            score=0.9,
            clip_url="http://127.0.0.1:9/b.mp4",
        )
        down = self.page.locator(f'[data-highlight-id="{later.id}"] .vote-down')
        expect(down).to_have_count(1, timeout=8000)  # the poll added the card, feedback.js the thumbs
        down.click()
        expect(down).to_have_attribute("aria-pressed", "true")
        self.assertEqual(Vote.objects.get().highlight_id, later.id)

    def test_a_moment_picked_on_the_timeline_is_marked_as_missed(self):
        # The bar line spans the plot, whose x axis runs over the scored 0..50 s.
        plot = self.page.locator("#timeline line.tl-bar").bounding_box()
        box = self.page.locator("#timeline").bounding_box()
        self.page.mouse.click(plot["x"] + plot["width"] * 30 / 50, box["y"] + box["height"] / 2)
        expect(self.page.locator("#missed-offset")).to_have_value("0:00:30")
        self.page.get_by_role("button", name="This was a highlight").click()
        expect(self.page.locator("#missed-note")).to_contain_text("0:00:30 marked")
        self.assertEqual(list(MissedMoment.objects.values_list("offset_s", flat=True)), [30.0])

    def test_the_slider_sends_the_budget_to_the_server_and_shows_the_estimate(self):
        page = self.page
        expect(page.locator("#budget")).to_have_value("6")  # the model's budget
        expect(page.locator("#budget-estimate")).to_have_text(
            "At 6 per hour, this stream would have had 0 highlights so far (0.0 per hour of stream)."
        )
        slider = page.locator("#budget-slider")
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            slider.focus()
            page.keyboard.press("End")  # the last stop: 60 per hour
            expect(page.locator("#budget-note")).to_contain_text("new segments use it", timeout=8000)
        self.assertEqual(HighlightBudget.objects.get().per_hour, 60.0)
        self.assertEqual([(r.method, r.body) for r in server.requests], [("PATCH", {"highlights_per_hour": 60.0})])
        expect(page.locator("#budget")).to_have_value("60")
        expect(slider).to_have_attribute("aria-valuetext", "60 per hour")
        expect(page.locator("#budget-note")).to_contain_text(
            "Your budget for this stream: about 60 highlights per hour"
        )
        expect(page.locator("#budget-estimate")).to_contain_text("At 60 per hour")
        expect(page.locator("#budget-reset")).to_be_visible()

    def test_a_typed_budget_moves_the_slider_and_reset_goes_back_to_the_models(self):
        page = self.page
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            page.locator("#budget").fill("2.5")
            expect(page.locator("#budget-slider")).to_have_value("4")  # stop 3, the nearest to 2.5 on a log scale
            page.locator("#budget-apply").click()
            expect(page.locator("#budget-note")).to_contain_text("about 2.5 highlights per hour", timeout=8000)
            self.assertEqual(HighlightBudget.objects.get().per_hour, 2.5)
            page.locator("#budget-reset").click()
            expect(page.locator("#budget-note")).to_contain_text("The model's budget: about 6", timeout=8000)
        self.assertFalse(HighlightBudget.objects.exists())
        self.assertEqual(
            [r.body for r in server.requests], [{"highlights_per_hour": 2.5}, {"highlights_per_hour": None}]
        )
        expect(page.locator("#budget")).to_have_value("6")
        expect(page.locator("#budget-slider")).to_have_value("7")
        expect(page.locator("#budget-reset")).to_be_hidden()

    def test_a_budget_out_of_range_is_refused_with_the_servers_message(self):
        page = self.page
        page.locator("#budget").evaluate("(input) => { input.removeAttribute('max'); input.value = '100'; }")
        page.locator("#budget-apply").click()
        expect(page.locator("#budget-note")).to_have_text(
            "Not saved: highlights per hour must be a number from 0.5 to 60", timeout=8000
        )
        self.assertFalse(HighlightBudget.objects.exists())
