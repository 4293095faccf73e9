import json

from django.test import Client, override_settings

from webapp.streams.models import Highlight, Segment, Stream
from webapp.test import BaseTestCase

TOKEN = "ingest-s3cret"


def segment(seq, score=0.12, **extra):
    return {
        "seq": seq,
        "start_utc": "2026-11-30T07:00:00.000Z",
        "end_utc": "2026-11-30T07:00:10.000Z",
        "offset_s": seq * 10.0,
        "duration_s": 10.0,
        "score": score,
        "features": {"chat_messages": 14, "audio_peak": 0.8},
        **extra,
    }


HIGHLIGHT = {
    "key": "12-0007-0009",
    "start_utc": "2026-11-30T07:01:00Z",
    "end_utc": "2026-11-30T07:01:30+00:00",
    "start_offset_s": 60.0,
    "end_offset_s": 90.0,
    "score": 0.81,
    "clip_url": "http://127.0.0.1:5000/media/12/12-0007-0009.mp4",
    "thumbnail_url": "http://127.0.0.1:5000/media/12/12-0007-0009.jpg",
    "reasons": [{"feature": "chat_rate_ratio", "value": 4.2, "text": "chat 4.2x its usual rate"}],
}


@override_settings(INGEST_API_TOKEN=TOKEN)
class IngestTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        # The server has no CSRF cookie: these calls must pass with checks enforced.
        self.client = Client(enforce_csrf_checks=True)

    def post(self, what, doc, token=TOKEN, stream_id=None, raw=None):
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        body = raw if raw is not None else json.dumps(doc)
        url = f"/api/v1/streams/{stream_id or self.stream.id}/{what}"
        return self.client.post(url, body, content_type="application/json", headers=headers)

    def assertError(self, r, status, words):
        self.assertEqual(r.status_code, status)
        self.assertIn(words, r.json()["error"])


class AuthTestCase(IngestTestCase):
    def test_it_requires_a_token(self):
        for what in ["status", "segments", "highlights"]:
            with self.subTest(what=what):
                self.assertError(self.post(what, {}, token=None), 401, "Authorization")

    def test_it_rejects_a_malformed_header(self):
        url = f"/api/v1/streams/{self.stream.id}/status"
        for header in [TOKEN, f"Basic {TOKEN}", "Bearer ", "Bearer"]:
            with self.subTest(header=header):
                r = self.client.post(url, "{}", content_type="application/json", headers={"Authorization": header})
                self.assertEqual(r.status_code, 401)

    def test_it_rejects_a_wrong_token(self):
        self.assertError(self.post("status", {"state": "live"}, token="guess"), 403, "wrong API token")
        self.assertEqual(Stream.objects.get(pk=self.stream.pk).state, "live")

    def test_get_is_405(self):
        r = self.client.get(f"/api/v1/streams/{self.stream.id}/segments", headers={"Authorization": f"Bearer {TOKEN}"})
        self.assertError(r, 405, "method not allowed")
        self.assertEqual(r["Allow"], "POST")

    def test_an_unknown_stream_is_404(self):
        self.assertError(self.post("status", {"state": "live"}, stream_id=999999), 404, "no such stream")
        self.assertError(self.post("highlights", HIGHLIGHT, stream_id=999999), 404, "no such stream")

    def test_a_deleted_streams_404_is_exactly_what_the_server_takes_for_a_deletion(self):
        from server.reporter import GONE_ERROR

        r = self.post("segments", {"segments": []}, stream_id=999999)
        self.assertEqual((r.status_code, r["Content-Type"], r.json()), (404, "application/json", {"error": GONE_ERROR}))
        wrong_prefix = self.client.post("/old-prefix/api/v1/streams/999999/status", {}, content_type="application/json")
        self.assertEqual(wrong_prefix.status_code, 404)
        self.assertNotEqual(wrong_prefix["Content-Type"], "application/json", "never mistaken for a deletion")


class StatusTestCase(IngestTestCase):
    def test_it_updates_the_state_shown_on_the_page(self):
        doc = {
            "state": "error",
            "segments_done": 31,
            "last_error": "ffmpeg exited with 1",
            "degraded": ["audio tagging off: no checkpoint"],
        }
        r = self.post("status", doc)
        self.assertEqual(r.status_code, 200)
        stream = Stream.objects.get(pk=self.stream.pk)
        self.assertEqual((stream.state, stream.segments_done, stream.last_error), ("error", 31, "ffmpeg exited with 1"))

        self.login()
        page = self.client.get(f"/streams/{self.stream.id}/")
        self.assertContains(page, "ffmpeg exited with 1")
        self.assertContains(page, "audio tagging off: no checkpoint")
        self.assertContains(page, '<strong id="state" class="state state-error">Error</strong>', html=True)

    def test_it_rejects_bad_json(self):
        self.assertError(self.post("status", None, raw="{not json"), 400, "could not parse")
        self.assertError(self.post("status", None, raw='{"state": NaN}'), 400, "NaN is not valid JSON")
        self.assertError(self.post("status", None, raw="[1, 2]"), 400, "must be a JSON object")

    def test_it_names_a_missing_field(self):
        self.assertError(self.post("status", {"segments_done": 1}), 400, "state: is required")

    def test_it_rejects_an_unknown_state(self):
        self.assertError(self.post("status", {"state": "waiting"}), 400, "state: must be one of")

    def test_it_rejects_wrong_types(self):
        self.assertError(
            self.post("status", {"state": "live", "segments_done": "3"}), 400, "segments_done: must be an integer"
        )
        self.assertError(self.post("status", {"state": "live", "degraded": "x"}), 400, "degraded: must be a list")


class SegmentsTestCase(IngestTestCase):
    def test_it_stores_segments_once_per_seq(self):
        self.assertEqual(self.post("segments", {"segments": [segment(0), segment(1)]}).status_code, 200)
        r = self.post("segments", {"segments": [segment(1, score=0.9), segment(2)]})
        self.assertEqual(r.json(), {"stored": 2})
        scores = list(Segment.objects.filter(stream=self.stream).values_list("seq", "score"))
        self.assertEqual(scores, [(0, 0.12), (1, 0.9), (2, 0.12)])
        seg = Segment.objects.get(stream=self.stream, seq=0)
        self.assertEqual(seg.features, {"chat_messages": 14, "audio_peak": 0.8})
        self.assertEqual(seg.start_utc.isoformat(), "2026-11-30T07:00:00+00:00")

    def test_it_stores_the_bar_sent_as_threshold_and_null_while_the_selector_warms_up(self):
        self.post("segments", {"segments": [segment(0)]})
        self.assertIsNone(Stream.objects.get(pk=self.stream.pk).bar)
        self.post("segments", {"segments": [segment(1)], "threshold": 0.62})
        self.assertEqual(Stream.objects.get(pk=self.stream.pk).bar, 0.62)
        self.assertEqual(self.post("segments", {"segments": [segment(2)], "threshold": None}).status_code, 200)
        self.assertIsNone(Stream.objects.get(pk=self.stream.pk).bar)
        self.assertError(self.post("segments", {"segments": [segment(3)], "threshold": "high"}), 400, "threshold")

    def test_it_validates_every_segment(self):
        cases = [
            ({"segments": [segment(0), {**segment(1), "score": "high"}]}, "segments[1].score: must be a finite number"),
            ({"segments": [{**segment(0), "start_utc": "yesterday"}]}, "segments[0].start_utc: must be an ISO 8601"),
            ({"segments": [{**segment(0), "start_utc": "2026-11-30T07:00:00"}]}, "with a time zone"),
            ({"segments": [{k: v for k, v in segment(0).items() if k != "seq"}]}, "segments[0].seq: is required"),
            ({"segments": [{**segment(0), "seq": True}]}, "segments[0].seq: must be an integer"),
            ({"segments": {}}, "segments: must be a list"),
            ({}, "segments: is required"),
        ]
        for doc, words in cases:
            with self.subTest(words=words):
                self.assertError(self.post("segments", doc), 400, words)
        self.assertFalse(Segment.objects.exists())

    def test_it_rejects_numbers_that_overflow_to_infinity(self):
        # Python's json turns 1e999 into inf without calling parse_constant.
        raw = json.dumps({"segments": [segment(0, score=0.5)]}).replace('"score": 0.5', '"score": 1e999')
        self.assertError(self.post("segments", None, raw=raw), 400, "segments[0].score: must be a finite number")
        raw = json.dumps({"segments": [segment(0)]}).replace('"audio_peak": 0.8', '"audio_peak": -1e999')
        self.assertError(
            self.post("segments", None, raw=raw), 400, "segments[0].features.audio_peak: must be a finite number"
        )
        self.assertError(
            self.post("segments", {"segments": [segment(0, score=float("inf"))]}), 400, "Infinity is not valid JSON"
        )


class HighlightsTestCase(IngestTestCase):
    def test_it_creates_a_highlight_then_answers_200_for_the_same_key(self):
        r = self.post("highlights", HIGHLIGHT)
        self.assertEqual(r.status_code, 201)
        self.assertTrue(r.json()["created"])
        r = self.post("highlights", {**HIGHLIGHT, "score": 0.5})
        self.assertEqual(r.status_code, 200)
        self.assertFalse(r.json()["created"])
        [h] = Highlight.objects.filter(stream=self.stream)
        self.assertEqual((h.key, h.score, h.duration_s), ("12-0007-0009", 0.81, 30.0))
        self.assertEqual(h.reasons[0]["text"], "chat 4.2x its usual rate")

    def test_the_same_key_on_another_stream_is_another_highlight(self):
        other = Stream.objects.create(owner=self.bob, source="other")
        self.assertEqual(self.post("highlights", HIGHLIGHT).status_code, 201)
        self.assertEqual(self.post("highlights", HIGHLIGHT, stream_id=other.id).status_code, 201)

    def test_it_shows_up_in_the_status_json(self):
        self.post("highlights", HIGHLIGHT)
        self.login()
        doc = self.client.get(f"/streams/{self.stream.id}/status.json").json()
        self.assertEqual(doc["highlights"][0]["clip_url"], HIGHLIGHT["clip_url"])

    def test_the_thumbnail_is_optional(self):
        doc = {k: v for k, v in HIGHLIGHT.items() if k != "thumbnail_url"}
        self.assertEqual(self.post("highlights", doc).status_code, 201)

    def test_it_validates_urls_and_reasons(self):
        cases = [
            ({"clip_url": "javascript:alert(1)"}, "clip_url: must be an http(s) URL"),
            ({"thumbnail_url": "file:///etc/passwd"}, "thumbnail_url: must be an http(s) URL"),
            ({"reasons": "loud"}, "reasons: must be a list"),
            ({"reasons": [{"feature": "x", "value": 1}]}, "reasons[0].text: is required"),
            ({"reasons": [{"feature": "x", "value": "1", "text": "t"}]}, "reasons[0].value: must be a finite number"),
            ({"key": ""}, "key: must not be empty"),
            ({"end_offset_s": 10.0}, "end_offset_s: must not be before start_offset_s"),
        ]
        for change, words in cases:
            with self.subTest(words=words):
                self.assertError(self.post("highlights", {**HIGHLIGHT, **change}), 400, words)
        self.assertFalse(Highlight.objects.exists())
