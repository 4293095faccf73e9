"""The ingest API answers bad numbers, deep nesting and oversized bodies with a 400/413 and an
{"error": ...} (issue 11, finding 4: `seq` >= 2^63 and deeply nested JSON were 500s), and
stores nothing of them."""

from __future__ import annotations

import json

from django.test import Client, override_settings

from webapp.streams.models import Segment, Stream
from webapp.test import BaseTestCase

TOKEN = "ingest-token-for-the-limits-tests-0123456789"


def segment(seq, **extra):
    return {
        "seq": seq,
        "start_utc": "2026-11-30T07:00:00Z",
        "end_utc": "2026-11-30T07:00:10Z",
        "offset_s": 0.0,
        "duration_s": 10.0,
        "score": 0.1,
        **extra,
    }


@override_settings(INGEST_API_TOKEN=TOKEN)
class IngestLimitsTestCase(BaseTestCase):
    def setUp(self):
        self.client = Client(enforce_csrf_checks=True)

    def post(self, what, body, stream_id=None):
        raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return self.client.post(
            f"/api/v1/streams/{stream_id or self.stream.id}/{what}",
            raw,
            content_type="application/json",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )

    def assertError(self, r, status, words):
        self.assertEqual(r.status_code, status, r.content[:300])
        self.assertIn(words, r.json()["error"])

    def test_a_seq_beyond_what_the_database_stores_is_a_400(self):
        for seq in [2**63, 2**64 + 5, 2**31]:
            with self.subTest(seq=seq):
                self.assertError(
                    self.post("segments", {"segments": [segment(seq)]}),
                    400,
                    "segments[0].seq: must be at most 2147483647",
                )
        self.assertEqual(self.post("segments", {"segments": [segment(2**31 - 1)]}).status_code, 200)
        self.assertEqual(list(Segment.objects.values_list("seq", flat=True)), [2**31 - 1])

    def test_a_huge_segments_done_is_a_400(self):
        self.assertError(self.post("status", {"state": "live", "segments_done": 2**63}), 400, "segments_done")
        self.assertEqual(Stream.objects.get(pk=self.stream.pk).segments_done, 0)

    def test_deeply_nested_json_is_a_400(self):
        for depth in [100_000, 33]:
            with self.subTest(depth=depth):
                self.assertError(self.post("status", "[" * depth + "]" * depth), 400, "nested more than 32 levels")
        features = {}
        for _ in range(40):
            features = {"x": features}
        self.assertError(
            self.post("segments", {"segments": [segment(1, features=features)]}), 400, "nested more than 32 levels"
        )
        self.assertFalse(Segment.objects.exists())

    def test_a_stream_id_beyond_the_database_is_a_404(self):
        self.assertError(self.post("status", {"state": "live"}, stream_id=2**64), 404, "no such stream")

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
    def test_a_body_over_the_limit_is_a_413_in_json(self):
        r = self.post("segments", {"segments": [segment(1, features={"pad": "x" * 2000})]})
        self.assertError(r, 413, "request body larger than 1000 bytes")
