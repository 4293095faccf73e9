"""One highlight counter: the slider's estimate is what the server publishes on the same scores.

The scores are replayed the way the live job (server/jobs.py `_process`) reports them: each
segment pushed to its `HighlightSelector`, posted to the webapp's real ingest API with the bar as
`threshold`, and a highlight posted when the selector closes one. The webapp's estimate, asked
through the budget view the slider posts to, must then equal the number of highlights stored;
`metamodel.selection.select` (used by `server.analyze` and training) gives the same highlights.
Also: the migration from the threshold to the budget.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client, TransactionTestCase, override_settings

from metamodel.selection import DEFAULT_PER_HOUR, HighlightSelector, select
from webapp.streams.models import Highlight, Stream
from webapp.test import BaseTestCase, FakeProcessingServer

TOKEN = "ingest-s3cret"
T0 = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
SEGMENT = 10.0


def iso(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def quiet_hour_then_ten_hot_minutes(rng: np.random.Generator) -> list[tuple[int, float]]:
    """The issue's case: before the budget, the server published 7 here where the slider said 1/h."""
    scores = np.concatenate([rng.uniform(0.02, 0.2, 360), rng.uniform(0.8, 0.95, 60), rng.uniform(0.02, 0.2, 60)])
    return [(seq, round(float(s), 6)) for seq, s in enumerate(scores)]


def two_hours_with_moments_and_a_gap(rng: np.random.Generator) -> list[tuple[int, float]]:
    """Noise with short spikes of different heights, and 30 seqs skipped (a job restart)."""
    scores = rng.beta(2, 8, 720)
    for start in rng.choice(700, 40, replace=False):
        scores[start : start + rng.integers(1, 5)] += rng.uniform(0.2, 0.6)
    seqs = [seq if seq < 400 else seq + 30 for seq in range(720)]
    return [(seq, round(float(min(s, 1.0)), 6)) for seq, s in zip(seqs, scores, strict=True)]


@override_settings(INGEST_API_TOKEN=TOKEN)
class EstimateEqualsPublishedTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.server_client = Client(enforce_csrf_checks=True)  # the processing server has no cookie

    def ingest(self, stream: Stream, what: str, doc: dict) -> None:
        r = self.server_client.post(
            f"/api/v1/streams/{stream.id}/{what}",
            json.dumps(doc),
            content_type="application/json",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        self.assertIn(r.status_code, (200, 201), r.content)

    def report_like_the_live_job(
        self, stream: Stream, pairs: list[tuple[int, float]], per_hour: float
    ) -> HighlightSelector:
        selector = HighlightSelector(per_hour, SEGMENT)
        for seq, score in pairs:
            highlight = selector.push(seq, score)
            self.ingest(
                stream,
                "segments",
                {
                    "threshold": selector.bar,
                    "segments": [
                        {
                            "seq": seq,
                            "start_utc": iso(seq * SEGMENT),
                            "end_utc": iso((seq + 1) * SEGMENT),
                            "offset_s": seq * SEGMENT,
                            "duration_s": SEGMENT,
                            "score": score,
                            "features": {},
                        }
                    ],
                },
            )
            if highlight:
                self.ingest(
                    stream,
                    "highlights",
                    {
                        "key": f"{stream.id}-{highlight.key}",
                        "start_utc": iso(highlight.first_seq * SEGMENT),
                        "end_utc": iso((highlight.last_seq + 1) * SEGMENT),
                        "start_offset_s": highlight.first_seq * SEGMENT,
                        "end_offset_s": (highlight.last_seq + 1) * SEGMENT,
                        "score": highlight.score,
                        "clip_url": f"http://127.0.0.1:5000/media/{stream.id}/{highlight.key}.mp4",
                        "reasons": [],
                    },
                )
        return selector

    def estimate_from_the_slider(self, stream: Stream, per_hour: float) -> dict:
        self.login()
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            r = self.client.post(
                f"/streams/{stream.id}/budget/", {"per_hour": str(per_hour)}, HTTP_ACCEPT="application/json"
            )
        self.assertEqual(r.status_code, 200, r.content)
        return r.json()["estimate"]

    def check(self, source: str, pairs: list[tuple[int, float]], per_hour: float) -> int:
        stream = Stream.objects.create(owner=self.alice, source=source, state=Stream.LIVE)
        selector = self.report_like_the_live_job(stream, pairs, per_hour)
        published = list(
            Highlight.objects.filter(stream=stream).order_by("start_offset_s").values_list("key", flat=True)
        )
        estimate = self.estimate_from_the_slider(stream, per_hour)
        self.assertEqual(estimate["highlights"], len(published), f"{source} at {per_hour}/h")
        self.assertEqual(estimate["hours"], round(len(pairs) * SEGMENT / 3600, 3))
        # The same highlights as select() (server.analyze, training), which also closes the run
        # still open at the end; the live job publishes that one when it closes.
        offline = [f"{stream.id}-{h.key}" for h in select(pairs, per_hour, SEGMENT)]
        self.assertEqual(offline[: len(published)], published)
        self.assertEqual(len(offline) - len(published), 1 if selector.flush() else 0)
        self.assertEqual(self.client.get(f"/streams/{stream.id}/status.json").json()["bar"], selector.bar)
        return len(published)

    def test_ten_hot_minutes_after_a_quiet_hour_the_estimate_is_what_the_server_published(self):
        published = self.check("hot", quiet_hour_then_ten_hot_minutes(np.random.default_rng(10)), DEFAULT_PER_HOUR)
        self.assertGreater(published, 0)

    def test_on_a_long_noisy_stream_the_estimate_is_what_the_server_published_at_any_budget(self):
        pairs = two_hours_with_moments_and_a_gap(np.random.default_rng(7))
        counts = {}
        for per_hour in (0.5, 6.0, 60.0):
            with self.subTest(per_hour=per_hour):
                counts[per_hour] = self.check(f"noisy-{per_hour:g}", pairs, per_hour)
        self.assertLess(counts[0.5], counts[6.0])
        self.assertLess(counts[6.0], counts[60.0])

    def test_before_anything_is_scored_there_is_no_estimate(self):
        self.assertIsNone(self.estimate_from_the_slider(self.stream, 6.0))


class BudgetMigrationTestCase(TransactionTestCase):
    """feedback 0003 drops the old thresholds (they cannot be mapped); streams 0002 keeps the bar."""

    before = [("feedback", "0002_training_runs"), ("streams", "0001_initial")]
    after = [("feedback", "0003_highlight_budget"), ("streams", "0002_stream_bar")]

    def migrate(self, targets):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    def tearDown(self):
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        super().tearDown()

    def test_old_thresholds_are_dropped_and_the_streams_bar_is_kept(self):
        old = self.migrate(self.before)
        owner = old.get_model("auth", "User").objects.create(username="carol")
        stream = old.get_model("streams", "Stream").objects.create(owner_id=owner.pk, source="xqcow", threshold=0.31)
        old.get_model("feedback", "Sensitivity").objects.create(stream_id=stream.pk, threshold=0.42)
        old.get_model("feedback", "TrainingRun").objects.create(model_path="m.json", threshold=0.4, state="done")

        new = self.migrate(self.after)
        self.assertEqual(new.get_model("streams", "Stream").objects.get(pk=stream.pk).bar, 0.31)
        self.assertFalse(new.get_model("feedback", "HighlightBudget").objects.exists())
        run = new.get_model("feedback", "TrainingRun").objects.get()
        self.assertEqual((run.state, run.per_hour), ("done", None))
        budget = new.get_model("feedback", "HighlightBudget").objects.create(stream_id=stream.pk, per_hour=6.0)
        self.assertEqual(budget.per_hour, 6.0)
        self.assertTrue(User.objects.filter(username="carol").exists())
