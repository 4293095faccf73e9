from datetime import UTC, datetime, timedelta

from webapp.streams.models import Highlight, Segment, Stream
from webapp.streams.views import quiet_note
from webapp.test import BaseTestCase

T0 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


class StreamPageTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        Stream.objects.filter(pk=cls.stream.pk).update(
            degraded=["audio tagging off: no checkpoint"], segments_done=3, bar=0.6
        )
        for seq, score in enumerate([0.1, 0.7, 0.3]):
            Segment.objects.create(
                stream=cls.stream, seq=seq, start_utc=T0, end_utc=T0, offset_s=seq * 10.0, duration_s=10.0, score=score
            )
        cls.older = Highlight.objects.create(
            stream=cls.stream,
            key="12-0001-0003",
            start_utc=T0,
            end_utc=T0,
            start_offset_s=60.0,
            end_offset_s=90.0,
            score=0.81,
            clip_url="http://127.0.0.1:5000/media/1/a.mp4",
            thumbnail_url="http://127.0.0.1:5000/media/1/a.jpg",
            reasons=[{"feature": "chat_rate_ratio", "value": 4.2, "text": "chat 4.2x its usual rate"}],
        )
        cls.newer = Highlight.objects.create(
            stream=cls.stream,
            key="12-0360-0362",
            start_utc=T0,
            end_utc=T0,
            start_offset_s=3723.0,
            end_offset_s=3743.0,
            score=0.655,
            clip_url="http://127.0.0.1:5000/media/1/b.mp4",
            reasons=[],
        )

    def url(self, suffix=""):
        return f"/streams/{self.stream.id}/{suffix}"

    def test_it_shows_state_notices_and_highlights_newest_first(self):
        self.login()
        r = self.client.get(self.url())
        self.assertContains(r, '<strong id="state" class="state state-live">Live</strong>', html=True)
        self.assertContains(r, "audio tagging off: no checkpoint")
        self.assertContains(
            r,
            '<video controls preload="none" playsinline src="http://127.0.0.1:5000/media/1/a.mp4" '
            'poster="http://127.0.0.1:5000/media/1/a.jpg" aria-label="Highlight at 0:01:00"></video>',
            html=True,
        )
        self.assertContains(r, "chat 4.2x its usual rate")
        self.assertContains(r, '<strong class="score">0.81</strong>', html=True)
        self.assertContains(r, "30 s")
        self.assertContains(r, f'href="/streams/{self.stream.id}/highlights/{self.older.id}/download/" download')
        self.assertContains(r, '<time class="clock" datetime="2026-11-30T07:00:00+00:00">07:00:00</time>', html=True)
        html = r.content.decode()
        self.assertLess(html.index("1:02:03"), html.index("0:01:00"))
        self.assertContains(r, "streams/stream.js")

    def test_it_says_so_when_there_are_no_highlights(self):
        Highlight.objects.all().delete()
        self.login()
        r = self.client.get(self.url())
        self.assertContains(r, '<p id="no-highlights">No highlights yet.')

    def test_the_status_json_has_state_highlights_and_segments(self):
        self.login()
        doc = self.client.get(self.url("status.json")).json()
        self.assertEqual(doc["state"], "live")
        self.assertIsNone(doc["last_error"])
        self.assertEqual(doc["degraded"], ["audio tagging off: no checkpoint"])
        self.assertEqual(doc["segments_done"], 3)
        self.assertEqual(doc["bar"], 0.6)
        end = T0.isoformat()
        self.assertEqual(
            doc["segments"],
            [
                {"seq": 0, "offset_s": 0.0, "duration_s": 10.0, "score": 0.1, "end_utc": end},
                {"seq": 1, "offset_s": 10.0, "duration_s": 10.0, "score": 0.7, "end_utc": end},
                {"seq": 2, "offset_s": 20.0, "duration_s": 10.0, "score": 0.3, "end_utc": end},
            ],
        )
        self.assertEqual([h["id"] for h in doc["highlights"]], [self.newer.id, self.older.id])
        first = doc["highlights"][1]
        self.assertEqual(first["clip_url"], "http://127.0.0.1:5000/media/1/a.mp4")
        self.assertEqual(first["thumbnail_url"], "http://127.0.0.1:5000/media/1/a.jpg")
        self.assertEqual((first["score"], first["start_offset_s"], first["duration_s"]), (0.81, 60.0, 30.0))
        self.assertEqual(first["reasons"][0]["text"], "chat 4.2x its usual rate")
        self.assertIsNone(doc["highlights"][0]["thumbnail_url"])

    def test_the_status_json_can_leave_out_the_segments_the_page_already_has(self):
        self.login()
        doc = self.client.get(self.url("status.json") + "?after_seq=1").json()
        self.assertEqual([s["seq"] for s in doc["segments"]], [2])
        self.assertEqual(len(doc["highlights"]), 2, "highlights always come whole")
        doc = self.client.get(self.url("status.json") + "?after_seq=nonsense").json()
        self.assertEqual([s["seq"] for s in doc["segments"]], [0, 1, 2])

    def test_a_live_stream_without_news_for_90_seconds_says_the_state_may_be_stale(self):
        # The newest segment ended at T0 + 0:00:00 (all three end at T0).
        self.assertIsNone(quiet_note(self.stream, now=T0 + timedelta(seconds=89)))
        self.assertEqual(
            quiet_note(self.stream, now=T0 + timedelta(minutes=5)),
            "No new segment from the processing server for 5 minutes: it may be down or may have "
            "lost this stream, so the state shown may be out of date.",
        )
        self.assertIn("for 1 minute:", quiet_note(self.stream, now=T0 + timedelta(seconds=91)))
        self.login()
        self.assertIn("No new segment", self.client.get(self.url("status.json")).json()["quiet_note"])

    def test_only_a_live_stream_can_be_quiet(self):
        for state in ["offline", "error", "waiting", "starting"]:
            with self.subTest(state=state):
                self.stream.state = state
                self.assertIsNone(quiet_note(self.stream, now=T0 + timedelta(hours=1)))

    def test_charlie_should_not_see_alices_stream(self):
        self.login(self.bob)
        self.assertEqual(self.client.get(self.url()).status_code, 404)
        self.assertEqual(self.client.get(self.url("status.json")).status_code, 404)

    def test_an_unknown_stream_is_404(self):
        self.login()
        self.assertEqual(self.client.get("/streams/999999/").status_code, 404)

    def test_the_page_escapes_what_the_server_sent(self):
        Stream.objects.filter(pk=self.stream.pk).update(state="error", last_error="<script>x</script>")
        self.login()
        r = self.client.get(self.url())
        self.assertContains(r, "&lt;script&gt;x&lt;/script&gt;")
        self.assertNotContains(r, "<script>x</script>")
