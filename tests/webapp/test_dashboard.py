from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from webapp.streams.models import Highlight, Stream
from webapp.streams.sync import sync_once
from webapp.test import BaseTestCase, FakeProcessingServer, closed_port_url

HOSTS = ["127.0.0.1", "localhost", "127.0.0.1:8080"]


@override_settings(ALLOWED_SOURCE_HOSTS=HOSTS, SERVER_API_TOKEN="t0ken", WEBAPP_PUBLIC_URL="http://127.0.0.1:8000")
class AddStreamTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.login(self.bob)
        self.server = FakeProcessingServer().__enter__()
        self.addCleanup(self.server.__exit__)
        settings = override_settings(SERVER_URL=self.server.url)
        settings.enable()
        self.addCleanup(settings.disable)

    def add(self, source, chat_channel="", follow=True):
        return self.client.post("/", {"source": source, "chat_channel": chat_channel}, follow=follow)

    def test_it_adds_a_channel_and_starts_a_job(self):
        r = self.add("Shroud")
        self.assertContains(r, "Now tracking shroud.")
        stream = Stream.objects.get(owner=self.bob)
        self.assertEqual((stream.source, stream.chat_channel, stream.state), ("shroud", "shroud", "starting"))
        self.assertEqual(stream.degraded, ["audio tagging off: no checkpoint"])

        [call] = self.server.requests
        self.assertEqual((call.method, call.path), ("POST", "/api/v1/jobs"))
        self.assertEqual(call.headers["Authorization"], "Bearer t0ken")
        self.assertEqual(
            call.body,
            {
                "stream_id": stream.id,
                "source": "shroud",
                "chat_channel": "shroud",
                "callback_base": "http://127.0.0.1:8000",
                "highlights_per_hour": None,
            },
        )  # the model's budget

    def test_it_normalises_twitch_urls_to_the_login(self):
        for text in ["https://www.twitch.tv/Pokimane", "twitch.tv/pokimane/", "http://twitch.tv/POKIMANE"]:
            with self.subTest(text=text):
                Stream.objects.filter(owner=self.bob).delete()
                self.add(text)
                self.assertEqual(Stream.objects.get(owner=self.bob).source, "pokimane")

    def test_it_rejects_invalid_channel_names(self):
        for text in ["ab", "a" * 26, "bad name", "bad-name", "name!", "https://www.twitch.tv/videos/123"]:
            with self.subTest(text=text):
                r = self.add(text)
                self.assertContains(r, "is not a Twitch channel name" if "twitch" in text else "is neither")
        self.assertFalse(Stream.objects.filter(owner=self.bob).exists())
        self.assertEqual(self.server.requests, [])

    def test_it_accepts_a_url_on_an_allowed_host_without_chat(self):
        self.add("http://127.0.0.1:8080/live/index.m3u8")
        stream = Stream.objects.get(owner=self.bob)
        self.assertEqual(stream.source, "http://127.0.0.1:8080/live/index.m3u8")
        self.assertIsNone(stream.chat_channel)
        self.assertIsNone(self.server.requests[0].body["chat_channel"])

    def test_it_keeps_an_explicit_chat_channel(self):
        self.add("hls://localhost/live.m3u8", chat_channel="https://www.twitch.tv/XQCow")
        self.assertEqual(Stream.objects.get(owner=self.bob).chat_channel, "xqcow")

    def test_it_rejects_a_url_to_a_host_not_allowed(self):
        r = self.add("https://evil.example.com/live.m3u8")
        self.assertContains(r, "Streams from evil.example.com are not allowed")
        self.assertFalse(Stream.objects.filter(owner=self.bob).exists())

    def test_it_rejects_every_url_when_no_host_is_allowed(self):
        with override_settings(ALLOWED_SOURCE_HOSTS=[]):
            r = self.add("http://127.0.0.1/live.m3u8")
        self.assertContains(r, "only tracks Twitch channels")

    def test_it_rejects_the_userinfo_trick(self):
        for text in ["http://127.0.0.1@evil.com/", "http://user:pw@127.0.0.1/", "http://127.0.0.1\\@evil.com/"]:
            with self.subTest(text=text):
                r = self.add(text)
                self.assertEqual(r.status_code, 200)
                self.assertContains(r, "not allowed")
        self.assertFalse(Stream.objects.filter(owner=self.bob).exists())

    def test_it_rejects_other_schemes(self):
        r = self.add("file:///etc/passwd")
        self.assertContains(r, "Only http://, https:// and hls:// URLs")

    @override_settings(MAX_STREAMS_PER_USER=2)
    def test_it_limits_the_number_of_streams(self):
        self.add("first_one")
        self.add("second_one")
        r = self.add("third_one")
        self.assertContains(r, "You are already tracking 2 streams, the most allowed.")
        self.assertEqual(Stream.objects.filter(owner=self.bob).count(), 2)

    def test_it_rejects_the_same_source_twice(self):
        self.add("shroud")
        r = self.add("https://www.twitch.tv/Shroud")
        self.assertContains(r, "You are already tracking shroud.")
        self.assertEqual(Stream.objects.filter(owner=self.bob).count(), 1)

    def test_two_users_may_track_the_same_channel(self):
        self.add("xqcow")
        self.assertEqual(Stream.objects.filter(source="xqcow").count(), 2)

    def test_it_shows_the_servers_400_as_the_streams_error(self):
        self.server.reject_with = "host not allowed"
        r = self.add("shroud")
        self.assertContains(r, "could not be started: The processing server refused this stream: host not allowed")
        stream = Stream.objects.get(owner=self.bob)
        self.assertEqual(stream.state, "error")
        self.assertIn("host not allowed", stream.last_error)

    def test_a_server_failure_other_than_400_leaves_the_stream_waiting(self):
        self.server.reject_with, self.server.reject_status = "worker pool full", 503
        r = self.add("shroud")
        self.assertContains(r, "the processing server is not reachable right now")
        stream = Stream.objects.get(owner=self.bob)
        self.assertEqual(stream.state, "waiting")
        self.assertIn("worker pool full", stream.last_error)


@override_settings(SERVER_URL=closed_port_url())
class ServerDownTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.login(self.bob)

    def add_while_down(self):
        return self.client.post("/", {"source": "shroud"}, follow=True)

    def make_due(self, stream):
        Stream.objects.filter(pk=stream.pk).update(job_attempt_at=timezone.now() - timedelta(seconds=11))

    def test_it_saves_the_stream_as_waiting_and_says_so(self):
        r = self.add_while_down()
        self.assertContains(r, "the processing server is not reachable right now")
        self.assertContains(r, "Waiting for server")
        stream = Stream.objects.get(owner=self.bob)
        self.assertEqual(stream.state, "waiting")
        self.assertIsNotNone(stream.job_attempt_at)

    def test_pages_never_call_the_server_even_for_a_due_waiting_stream(self):
        self.add_while_down()
        stream = Stream.objects.get(owner=self.bob)
        self.make_due(stream)
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            for url in ["/", "/streams/status.json", f"/streams/{stream.id}/", f"/streams/{stream.id}/status.json"]:
                self.assertEqual(self.client.get(url).status_code, 200)
        self.assertEqual(server.requests, [])
        self.assertEqual(Stream.objects.get(pk=stream.pk).state, "waiting")

    def test_the_background_sync_retries_after_ten_seconds(self):
        self.add_while_down()
        stream = Stream.objects.get(owner=self.bob)
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            self.assertEqual(sync_once(), {"started": 0, "rejected": 0, "waiting": 0})  # too soon
            self.assertEqual(server.requests, [])
            self.make_due(stream)
            self.assertEqual(sync_once(), {"started": 1, "rejected": 0, "waiting": 0})
            doc = self.client.get(f"/streams/{stream.id}/status.json").json()
        self.assertEqual(doc["state"], "starting")
        self.assertEqual(server.requests[0].body["stream_id"], stream.id)

    def test_sync_jobs_retries_every_waiting_stream(self):
        self.add_while_down()
        self.client.post("/", {"source": "pokimane"})
        out = StringIO()
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            call_command("sync_jobs", stdout=out)
        self.assertIn("2 started, 0 refused by the server, 0 still waiting.", out.getvalue())
        self.assertEqual(len(server.requests), 2)
        self.assertFalse(Stream.objects.filter(state="waiting").exists())

    def test_sync_jobs_leaves_streams_waiting_while_the_server_is_down(self):
        self.add_while_down()
        out = StringIO()
        call_command("sync_jobs", stdout=out)
        self.assertIn("1 still waiting", out.getvalue())
        self.assertEqual(Stream.objects.get(owner=self.bob).state, "waiting")

    def test_a_status_report_while_waiting_wins(self):
        self.add_while_down()
        stream = Stream.objects.get(owner=self.bob)
        Stream.objects.filter(pk=stream.pk).update(state="live")
        self.make_due(stream)
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            sync_once()
        self.assertEqual(server.requests, [])


class DashboardListTestCase(BaseTestCase):
    def test_it_lists_only_my_streams_with_state_and_highlight_count(self):
        Stream.objects.create(owner=self.bob, source="bobs_channel", state="error", last_error="boom")
        now = timezone.now()
        for i in range(2):
            Highlight.objects.create(
                stream=self.stream,
                key=f"k{i}",
                start_utc=now,
                end_utc=now,
                start_offset_s=i,
                end_offset_s=i + 30,
                score=0.8,
                clip_url="http://127.0.0.1:5000/a.mp4",
            )
        self.login()
        r = self.client.get("/")
        self.assertContains(r, "xqcow")
        self.assertContains(r, "Live")
        self.assertContains(r, "2 highlights")
        self.assertContains(r, "last <time")
        self.assertNotContains(r, "bobs_channel")
        self.assertContains(r, 'data-confirm="Stop tracking and delete xqcow?"')
