"""What the dashboard's script polls: every stream of mine with its state, highlight count and
the time of the last highlight."""

from __future__ import annotations

from datetime import timedelta

from django.test import override_settings
from django.utils import timezone

from webapp.streams.models import Highlight, Segment, Stream
from webapp.streams.sync import sync_once
from webapp.test import BaseTestCase, FakeProcessingServer


class DashboardStatusTestCase(BaseTestCase):
    URL = "/streams/status.json"

    def test_it_lists_my_streams_with_counts_and_the_last_highlight(self):
        Stream.objects.create(owner=self.bob, source="bobs_channel", state="live")
        mine = Stream.objects.create(owner=self.alice, source="shroud", state="error", last_error="ffmpeg exited")
        for i in range(2):
            Highlight.objects.create(
                stream=self.stream,
                key=f"k{i}",
                start_utc=timezone.now(),
                end_utc=timezone.now(),
                start_offset_s=i * 60,
                end_offset_s=i * 60 + 20,
                score=0.8,
                clip_url="http://127.0.0.1:5000/a.mp4",
            )
        last = Highlight.objects.filter(stream=self.stream).latest("created").created
        self.login()
        r = self.client.get(self.URL)
        self.assertEqual(r["Cache-Control"], "no-store")
        by_name = {s["name"]: s for s in r.json()["streams"]}
        self.assertEqual(set(by_name), {"xqcow", "shroud"})
        self.assertEqual(
            by_name["xqcow"],
            {
                "id": self.stream.id,
                "name": "xqcow",
                "state": "live",
                "kind": "live",
                "state_label": "Live",
                "state_help": "The stream is live and being analysed; new highlights appear below.",
                "last_error": None,
                "quiet_note": None,
                "highlight_count": 2,
                "last_highlight": last.isoformat(),
            },
        )
        self.assertEqual((by_name["shroud"]["id"], by_name["shroud"]["state_label"]), (mine.id, "Error"))
        self.assertEqual(by_name["shroud"]["last_error"], "ffmpeg exited")
        self.assertEqual((by_name["shroud"]["highlight_count"], by_name["shroud"]["last_highlight"]), (0, None))

    def test_it_shows_a_waiting_stream_started_in_the_background_without_calling_the_server(self):
        waiting = Stream.objects.create(
            owner=self.alice, source="shroud", state="waiting", job_attempt_at=timezone.now() - timedelta(seconds=11)
        )
        self.login()
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            before = {s["id"]: s["state"] for s in self.client.get(self.URL).json()["streams"]}
            self.assertEqual(server.requests, [], "the page does not call the server")
            sync_once()
            after = {s["id"]: s["state"] for s in self.client.get(self.URL).json()["streams"]}
        self.assertEqual((before[waiting.id], after[waiting.id]), ("waiting", "starting"))
        self.assertEqual([(c.method, c.body["source"]) for c in server.requests], [("POST", "shroud")])

    def test_a_live_stream_without_a_segment_for_minutes_says_so(self):
        Segment.objects.create(
            stream=self.stream,
            seq=0,
            start_utc=timezone.now() - timedelta(minutes=4),
            end_utc=timezone.now() - timedelta(minutes=3, seconds=50),
            offset_s=0.0,
            duration_s=10.0,
            score=0.1,
        )
        self.login()
        [doc] = self.client.get(self.URL).json()["streams"]
        self.assertIn("No new segment from the processing server for 3 minutes", doc["quiet_note"])

    def test_it_needs_a_login(self):
        r = self.client.get(self.URL)
        self.assertEqual(r.status_code, 302)
