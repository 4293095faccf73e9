"""From stored segments and feedback to a training CSV, and staff retraining the server's model."""

import csv
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import TransactionTestCase, override_settings

from metamodel import load_metamodel, save_metamodel
from metamodel.dataset import read_training_csv
from metamodel.ranks import StreamRanks
from metamodel.schema import RANKED
from metamodel.selection import DEFAULT_PER_HOUR
from webapp.feedback.models import MissedMoment, TrainingRun, Vote
from webapp.streams.models import Highlight, Segment, Stream
from webapp.test import PASSWORD, BaseTestCase

T0 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def add_segments(stream, chat_counts):
    """Segments as the server reports them: raw features and their ranks against the stream so far."""
    ranks = StreamRanks(RANKED)
    for seq, count in enumerate(chat_counts):
        raw = {"chat_messages": count, "audio_peak": 0.3, "motion_mean": None}
        Segment.objects.create(
            stream=stream,
            seq=seq,
            start_utc=T0,
            end_utc=T0,
            offset_s=seq * 10.0,
            duration_s=10.0,
            score=0.5,
            features={**raw, **ranks.rank(raw), "not_a_feature": 7},
        )


def add_highlight(stream, first_seq, last_seq):
    return Highlight.objects.create(
        stream=stream,
        key=f"{first_seq}-{last_seq}",
        start_utc=T0,
        end_utc=T0,
        start_offset_s=first_seq * 10.0,
        end_offset_s=(last_seq + 1) * 10.0,
        score=0.9,
        clip_url="http://127.0.0.1:5000/media/x.mp4",
    )


class ExportTestCase(BaseTestCase):
    def setUp(self):
        add_segments(self.stream, range(10))
        liked, disliked = add_highlight(self.stream, 1, 2), add_highlight(self.stream, 4, 4)
        add_highlight(self.stream, 6, 6)  # nobody voted: left out
        Vote.objects.create(user=self.alice, highlight=liked, value=Vote.UP)
        Vote.objects.create(user=self.alice, highlight=disliked, value=Vote.DOWN)
        MissedMoment.objects.create(user=self.alice, stream=self.stream, offset_s=85.0)
        silent = Stream.objects.create(owner=self.bob, source="no_feedback")
        add_segments(silent, range(5))
        self.out = Path(tempfile.mkdtemp()) / "data.csv"

    def test_votes_and_missed_moments_become_labels(self):
        call_command("export_training_data", "--out", str(self.out), stdout=open("/dev/null", "w"))
        rows = list(csv.DictReader(self.out.open()))
        labels = {int(r["seq"]): int(r["label"]) for r in rows}
        self.assertEqual(labels, {0: 0, 1: 1, 2: 1, 3: 0, 4: 0, 5: 0, 7: 0, 8: 1, 9: 0})
        self.assertEqual({r["stream"] for r in rows}, {f"{self.stream.id}-xqcow"})

    def test_the_csv_has_schema_features_only_and_empty_cells_for_missing_values(self):
        call_command("export_training_data", "--out", str(self.out), stdout=open("/dev/null", "w"))
        data = read_training_csv(self.out)
        self.assertEqual(
            data.features,
            ["chat_messages", "audio_peak", "motion_mean", "rank:chat_messages", "rank:audio_peak", "rank:motion_mean"],
        )
        self.assertEqual(data.columns(["chat_messages"]).ravel().tolist()[:3], [0.0, 1.0, 2.0])
        stored = Segment.objects.get(stream=self.stream, seq=2).features["rank:chat_messages"]
        self.assertEqual(data.columns(["rank:chat_messages"]).ravel().tolist()[2], stored)
        for column in ("motion_mean", "rank:motion_mean"):
            self.assertTrue(all(v != v for v in data.columns([column]).ravel()))  # NaN: missing

    def test_without_feedback_there_is_nothing_to_export(self):
        Vote.objects.all().delete()
        MissedMoment.objects.all().delete()
        with self.assertRaisesMessage(CommandError, "no feedback yet"):
            call_command("export_training_data", "--out", str(self.out))


def join_training_threads():
    for thread in threading.enumerate():
        if thread.name.startswith("retrain-"):
            thread.join(120)


class RetrainTestCase(TransactionTestCase):
    """Retraining runs on a thread of its own, which needs committed data: a TransactionTestCase."""

    def setUp(self):
        self.alice = User.objects.create_user("alice", password=PASSWORD, is_staff=True)
        self.bob = User.objects.create_user("bob", password=PASSWORD)
        # Two streams where liked highlights are exactly the chat spikes: a model can learn that.
        for owner, source in ((self.alice, "xqcow"), (self.bob, "shroud")):
            stream = Stream.objects.create(owner=owner, source=source)
            counts = [5, 6, 40, 42, 5, 4, 6, 38, 5, 5, 6, 4, 44, 5, 6, 5, 39, 41, 5, 6]
            add_segments(stream, counts)
            for seq in (2, 7, 12, 16):
                Vote.objects.create(
                    user=owner, highlight=add_highlight(stream, seq, seq + (seq == 2 or seq == 16)), value=Vote.UP
                )
            Vote.objects.create(user=owner, highlight=add_highlight(stream, 9, 9), value=Vote.DOWN)
        self.model_path = Path(tempfile.mkdtemp()) / "model.json"
        self.settings = override_settings(METAMODEL_PATH=self.model_path)
        self.settings.enable()
        self.addCleanup(self.settings.disable)
        self.client.force_login(self.alice)

    def retrain(self):
        r = self.client.post("/feedback/retrain/")
        self.assertRedirects(r, "/feedback/retrain/")
        join_training_threads()
        return self.client.get("/feedback/retrain/")

    def test_retraining_from_the_command_line_writes_a_valid_model_where_the_server_looks(self):
        call_command("retrain_metamodel", stdout=open("/dev/null", "w"))
        model = load_metamodel(self.model_path)
        self.assertEqual(model.provenance["trained_by"], "python -m metamodel train")
        self.assertTrue(all(f.startswith("rank:") for f in model.features), model.features)
        self.assertGreater(model.coef[model.features.index("rank:chat_messages")], 0)
        self.assertEqual(model.per_hour, DEFAULT_PER_HOUR, "no model served yet: the shipped default's budget")
        run = TrainingRun.objects.get()
        self.assertEqual(run.state, TrainingRun.DONE, "listed on the staff page too")
        self.assertEqual(run.per_hour, DEFAULT_PER_HOUR)

    def test_a_retrained_model_keeps_the_serving_models_budget_unless_told_otherwise(self):
        served = load_metamodel()
        save_metamodel(
            type(served)(served.features, served.mean, served.scale, served.coef, served.intercept, 12.0),
            self.model_path,
        )
        call_command("retrain_metamodel", stdout=open("/dev/null", "w"))
        self.assertEqual(load_metamodel(self.model_path).per_hour, 12.0)
        out = StringIO()
        call_command("retrain_metamodel", "--per-hour", "3", stdout=out)
        self.assertEqual(load_metamodel(self.model_path).per_hour, 3.0)
        self.assertIn("(3 highlights per hour); the server reloads it", out.getvalue())
        self.assertIn("a budget of 3 highlights per hour", out.getvalue())

    def test_a_budget_the_selector_does_not_take_is_refused_before_anything_runs(self):
        with self.assertRaisesMessage(CommandError, "--per-hour: highlights per hour must be a number from 0.5 to 60"):
            call_command("retrain_metamodel", "--per-hour", "100")
        self.assertFalse(TrainingRun.objects.exists())
        self.assertFalse(self.model_path.exists())

    @override_settings(METAMODEL_PATH=None)
    def test_retraining_without_a_model_path_says_what_to_set(self):
        with self.assertRaisesMessage(CommandError, "METAMODEL_PATH"):
            call_command("retrain_metamodel")
        r = self.client.post("/feedback/retrain/", follow=True)
        self.assertContains(r, "Not retrained: METAMODEL_PATH is not set")
        self.assertFalse(TrainingRun.objects.exists())

    def test_staff_retrain_on_a_background_thread_and_see_the_report(self):
        self.assertContains(self.client.get("/feedback/retrain/"), "Retrain now")
        page = self.retrain()
        self.assertContains(page, f"new model written ({DEFAULT_PER_HOUR:g} highlights per hour, 40 segments)")
        self.assertContains(page, "chat only")
        self.assertContains(page, "by alice")
        self.assertEqual(load_metamodel(self.model_path).provenance["rows"], 40)
        self.assertEqual(TrainingRun.objects.get().rows, 40)

    def test_others_cannot_retrain(self):
        self.client.force_login(self.bob)
        self.assertEqual(self.client.get("/feedback/retrain/").status_code, 302)  # to the admin login
        self.assertEqual(self.client.post("/feedback/retrain/").status_code, 302)
        self.assertFalse(TrainingRun.objects.exists())
        self.assertFalse(self.model_path.exists())

    def test_a_second_retraining_waits_for_the_first(self):
        TrainingRun.objects.create(model_path=str(self.model_path), started_by=self.alice)
        page = self.client.get("/feedback/retrain/")
        self.assertContains(page, '<meta http-equiv="refresh"')
        self.assertContains(page, "disabled")
        r = self.client.post("/feedback/retrain/", follow=True)
        self.assertContains(r, "Not retrained: a retraining is already running")
        self.assertEqual(TrainingRun.objects.count(), 1)

    def test_a_run_left_running_by_a_stopped_webapp_does_not_block_the_next(self):
        stale = TrainingRun.objects.create(model_path=str(self.model_path))
        TrainingRun.objects.filter(pk=stale.pk).update(started=stale.started - timedelta(hours=2))
        page = self.retrain()
        self.assertContains(page, "did not finish (the webapp stopped while it ran)")
        self.assertContains(page, "new model written")

    def test_the_admins_vote_list_links_to_retraining(self):
        self.alice.is_superuser = True
        self.alice.save()
        self.assertContains(self.client.get("/admin/feedback/vote/"), 'href="/feedback/retrain/"')

    def test_too_little_feedback_is_explained_on_the_page(self):
        Stream.objects.filter(source="shroud").delete()
        page = self.retrain()
        self.assertContains(page, "not retrained: cross-validation needs at least 2 streams")
        self.assertFalse(self.model_path.exists())
