"""Feedback on highlights: votes, missed moments and the highlight budget slider, owner-scoped and
CSRF-protected; the budget reaches the processing server."""

import dataclasses
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from django.test import Client, override_settings

from metamodel.artifact import load_metamodel, save_metamodel
from metamodel.selection import DEFAULT_PER_HOUR
from webapp.feedback.budget import estimate
from webapp.feedback.models import HighlightBudget, MissedMoment, Vote
from webapp.streams import jobs
from webapp.streams.models import Highlight, Segment, Stream
from webapp.test import BaseTestCase, FakeProcessingServer, closed_port_url

T0 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
JSON = {"HTTP_ACCEPT": "application/json"}


class FeedbackTestCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        for seq, score in enumerate([0.1, 0.7, 0.8, 0.2, 0.1, 0.9]):
            Segment.objects.create(
                stream=cls.stream,
                seq=seq,
                start_utc=T0,
                end_utc=T0,
                offset_s=seq * 10.0,
                duration_s=10.0,
                score=score,
                features={"chat_messages": seq},
            )
        cls.highlight = Highlight.objects.create(
            stream=cls.stream,
            key="1-0000-0002",
            start_utc=T0,
            end_utc=T0,
            start_offset_s=0.0,
            end_offset_s=30.0,
            score=0.8,
            clip_url="http://127.0.0.1:5000/media/1/a.mp4",
        )

    def url(self, suffix):
        return f"/streams/{self.stream.id}/{suffix}"

    def vote_url(self, highlight=None):
        return self.url(f"highlights/{(highlight or self.highlight).id}/vote/")

    # --- votes -------------------------------------------------------------------------------

    def test_a_thumbs_up_is_stored_for_the_user_and_the_same_thumb_again_takes_it_back(self):
        self.login()
        r = self.client.post(self.vote_url(), {"value": "up"}, **JSON)
        self.assertEqual(r.json(), {"highlight": self.highlight.id, "vote": "up"})
        self.assertEqual(Vote.objects.get(user=self.alice, highlight=self.highlight).value, Vote.UP)
        r = self.client.post(self.vote_url(), {"value": "up"}, **JSON)
        self.assertEqual(r.json()["vote"], None)
        self.assertFalse(Vote.objects.exists())

    def test_thumbs_down_replaces_thumbs_up(self):
        self.login()
        self.client.post(self.vote_url(), {"value": "up"}, **JSON)
        r = self.client.post(self.vote_url(), {"value": "down"}, **JSON)
        self.assertEqual(r.json()["vote"], "down")
        self.assertEqual(Vote.objects.get().value, Vote.DOWN)

    def test_an_unknown_vote_is_a_400(self):
        self.login()
        r = self.client.post(self.vote_url(), {"value": "sideways"}, **JSON)
        self.assertEqual(r.status_code, 400)

    def test_a_vote_without_javascript_redirects_back_to_the_stream(self):
        self.login()
        r = self.client.post(self.vote_url(), {"value": "down"})
        self.assertRedirects(r, self.url(""), fetch_redirect_response=False)

    def test_the_feedback_state_lists_only_the_users_own_votes_and_marks(self):
        Vote.objects.create(user=self.alice, highlight=self.highlight, value=Vote.UP)
        MissedMoment.objects.create(user=self.alice, stream=self.stream, offset_s=42.0)
        self.login()
        doc = self.client.get(self.url("feedback.json")).json()
        self.assertEqual(doc["votes"], {str(self.highlight.id): "up"})
        self.assertEqual([m["offset_s"] for m in doc["missed"]], [42.0])

    # --- missed moments ----------------------------------------------------------------------

    def test_a_missed_moment_is_stored_once_from_seconds_or_clock_time(self):
        self.login()
        r = self.client.post(self.url("missed/"), {"offset": "0:00:42"}, **JSON)
        self.assertEqual(r.status_code, 201)
        self.client.post(self.url("missed/"), {"offset": "42"}, **JSON)
        self.assertEqual(list(MissedMoment.objects.values_list("user__username", "offset_s")), [("alice", 42.0)])

    def test_a_moment_not_yet_analysed_or_not_a_time_is_refused(self):
        self.login()
        for offset, words in [("1:00:00", "not been analysed"), ("soon", "not a time"), ("", "not a time")]:
            r = self.client.post(self.url("missed/"), {"offset": offset}, **JSON)
            self.assertEqual(r.status_code, 400)
            self.assertIn(words, r.json()["error"])
        self.assertFalse(MissedMoment.objects.exists())

    def test_a_mark_can_be_removed_by_its_author_only(self):
        moment = MissedMoment.objects.create(user=self.alice, stream=self.stream, offset_s=12.0)
        self.login()
        r = self.client.post(self.url(f"missed/{moment.id}/delete/"), follow=True)
        self.assertContains(r, "Mark removed.")
        self.assertFalse(MissedMoment.objects.exists())

    # --- highlight budget --------------------------------------------------------------------

    def test_the_slider_saves_the_budget_and_sends_it_to_the_running_job(self):
        self.login()
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url, SERVER_API_TOKEN="t"):
            r = self.client.post(self.url("budget/"), {"per_hour": "12"}, **JSON)
        doc = r.json()
        self.assertTrue(doc["applied"])
        self.assertEqual((doc["per_hour"], doc["effective_per_hour"]), (12.0, 12.0))
        self.assertIn(
            "about 12 highlights per hour; each is among the 12 best moments of the hour before it", doc["text"]
        )
        [call] = server.requests
        self.assertEqual(
            (call.method, call.path, call.body),
            ("PATCH", f"/api/v1/jobs/{self.stream.id}", {"highlights_per_hour": 12.0}),
        )
        self.assertEqual(HighlightBudget.objects.get(stream=self.stream).per_hour, 12.0)

    def test_the_answer_estimates_what_the_server_selector_gives_at_that_budget_on_the_stored_scores(self):
        self.login()
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            estimate = self.client.post(self.url("budget/"), {"per_hour": "60"}, **JSON).json()["estimate"]
        # Six segments: the selector is past its one-minute warm-up only at the last one.
        self.assertEqual(estimate["per_hour"], 60.0)
        self.assertEqual(estimate["hours"], round(60 / 3600, 3))
        self.assertEqual(estimate["highlights"], 0)
        self.assertEqual(
            estimate["text"], "At 60 per hour, this stream would have had 0 highlights so far (0.0 per hour of stream)."
        )

    def test_the_budget_can_be_any_number_in_range_and_the_page_shows_it(self):
        self.login()
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            for value in ["0.5", "7.25", "60"]:
                r = self.client.post(self.url("budget/"), {"per_hour": value}, **JSON)
                self.assertEqual(r.json()["per_hour"], float(value))
        page = self.client.get(self.url(""))
        self.assertContains(page, 'name="per_hour"')
        self.assertContains(page, 'value="60"')
        self.assertContains(page, "Your budget for this stream: about 60 highlights per hour")
        self.assertContains(page, "Reset to the model's 6")

    def test_reset_goes_back_to_the_models_budget(self):
        HighlightBudget.objects.create(stream=self.stream, per_hour=30)
        self.login()
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            doc = self.client.post(self.url("budget/"), {"reset": "1"}, **JSON).json()
        self.assertEqual(server.requests[0].body, {"highlights_per_hour": None})
        self.assertFalse(HighlightBudget.objects.exists())
        self.assertIsNone(doc["per_hour"])
        self.assertEqual(doc["effective_per_hour"], DEFAULT_PER_HOUR)  # the shipped model's budget
        self.assertTrue(doc["text"].startswith("The model's budget: about 6 highlights per hour"))
        page = self.client.get(self.url(""))
        self.assertContains(page, 'id="budget-reset" formnovalidate hidden')

    def test_the_default_is_the_budget_of_the_model_the_server_loads(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.json"
            save_metamodel(dataclasses.replace(load_metamodel(), per_hour=2.5), path)
            self.login()
            with override_settings(METAMODEL_PATH=path):
                doc = self.client.get(self.url("feedback.json")).json()
                page = self.client.get(self.url(""))
        self.assertEqual((doc["per_hour"], doc["default_per_hour"], doc["effective_per_hour"]), (None, 2.5, 2.5))
        self.assertContains(page, "The model&#x27;s budget: about 2.5 highlights per hour")

    def test_a_budget_outside_the_range_is_refused_with_a_clear_message_and_not_sent(self):
        self.login()
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            for value in ["0", "0.49", "60.5", "-6", "abc", "", "nan", "inf"]:
                r = self.client.post(self.url("budget/"), {"per_hour": value}, **JSON)
                self.assertEqual(r.status_code, 400, value)
                self.assertEqual(r.json()["error"], "highlights per hour must be a number from 0.5 to 60")
            r = self.client.post(self.url("budget/"), {"per_hour": "100"}, follow=True)
            self.assertContains(r, "Not saved: highlights per hour must be a number from 0.5 to 60.")
        self.assertEqual(server.requests, [])
        self.assertFalse(HighlightBudget.objects.exists())

    @override_settings(SERVER_URL=closed_port_url())
    def test_with_the_server_down_the_budget_is_saved_and_sent_when_the_job_starts(self):
        self.login()
        with self.assertLogs("webapp.feedback.views", "WARNING"):
            doc = self.client.post(self.url("budget/"), {"per_hour": "4"}, **JSON).json()
        self.assertFalse(doc["applied"])
        self.assertIn("applies when the job restarts", doc["note"])
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            Stream.objects.filter(pk=self.stream.pk).update(state=Stream.WAITING)
            jobs.start_job(Stream.objects.get(pk=self.stream.pk))
        self.assertEqual(server.requests[0].body["highlights_per_hour"], 4.0)

    def test_a_new_job_without_a_chosen_budget_asks_for_the_models(self):
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            Stream.objects.filter(pk=self.stream.pk).update(state=Stream.WAITING)
            jobs.start_job(Stream.objects.get(pk=self.stream.pk))
        self.assertIsNone(server.requests[0].body["highlights_per_hour"])

    def test_the_state_carries_the_budget_and_the_estimate_at_it(self):
        HighlightBudget.objects.create(stream=self.stream, per_hour=60)
        self.login()
        doc = self.client.get(self.url("feedback.json")).json()
        self.assertEqual(doc["per_hour"], 60.0)
        self.assertEqual(doc["estimate"], estimate(self.stream, 60.0).to_dict())
        self.assertEqual(doc["estimate"]["hours"], round(60 / 3600, 3))

    def test_the_stream_page_shows_the_panel_and_loads_the_script(self):
        self.login()
        r = self.client.get(self.url(""))
        self.assertContains(r, 'id="budget-slider"')
        self.assertContains(r, 'data-steps="0.5,1,1.5,2,3,4,5,6,8,10,12,15,20,25,30,40,50,60"')
        self.assertContains(r, "This was a highlight")
        self.assertContains(r, "feedback/feedback.js")

    # --- owner scoping and CSRF --------------------------------------------------------------

    def test_bob_gets_404_for_everything_on_alices_stream(self):
        moment = MissedMoment.objects.create(user=self.alice, stream=self.stream, offset_s=12.0)
        self.login(self.bob)
        for method, suffix, data in [
            ("post", f"highlights/{self.highlight.id}/vote/", {"value": "up"}),
            ("post", "missed/", {"offset": "10"}),
            ("post", f"missed/{moment.id}/delete/", {}),
            ("post", "budget/", {"per_hour": "6"}),
            ("post", "budget/", {"reset": "1"}),
            ("get", "feedback.json", {}),
        ]:
            r = getattr(self.client, method)(self.url(suffix), data, **JSON)
            self.assertEqual(r.status_code, 404, suffix)
        self.assertFalse(Vote.objects.exists() or HighlightBudget.objects.exists())
        self.assertEqual(MissedMoment.objects.count(), 1)

    def test_a_highlight_of_another_stream_is_404_even_on_your_own_stream(self):
        bobs = Stream.objects.create(owner=self.bob, source="shroud")
        other = Highlight.objects.create(
            stream=bobs,
            key="x",
            start_utc=T0,
            end_utc=T0,
            start_offset_s=0,
            end_offset_s=10,
            score=0.9,
            clip_url="http://127.0.0.1:5000/b.mp4",
        )
        self.login()
        r = self.client.post(self.url(f"highlights/{other.id}/vote/"), {"value": "up"}, **JSON)
        self.assertEqual(r.status_code, 404)

    def test_changes_need_a_post_with_a_csrf_token(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.alice)
        self.assertEqual(client.post(self.vote_url(), {"value": "up"}).status_code, 403)
        self.assertEqual(client.post(self.url("missed/"), {"offset": "10"}).status_code, 403)
        self.assertEqual(client.post(self.url("budget/"), {"per_hour": "6"}).status_code, 403)
        self.assertEqual(client.get(self.url("budget/")).status_code, 405)
        self.assertFalse(HighlightBudget.objects.exists())
        self.assertEqual(client.get(self.vote_url()).status_code, 405)
        page = client.get(self.url(""))
        token = page.cookies["csrftoken"].value
        r = client.post(self.vote_url(), {"value": "up"}, HTTP_X_CSRFTOKEN=token, **JSON)
        self.assertEqual(r.status_code, 200)

    def test_anonymous_users_are_sent_to_log_in(self):
        r = self.client.post(self.vote_url(), {"value": "up"})
        self.assertEqual(r.status_code, 302)
        self.assertIn("/accounts/login/", r["Location"])
