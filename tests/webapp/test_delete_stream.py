from datetime import UTC, datetime

from django.test import Client, override_settings

from webapp.streams.models import Highlight, Segment, Stream
from webapp.test import BaseTestCase, FakeProcessingServer, closed_port_url

T0 = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


class DeleteStreamTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        Segment.objects.create(
            stream=self.stream, seq=0, start_utc=T0, end_utc=T0, offset_s=0, duration_s=10, score=0.2
        )
        Highlight.objects.create(
            stream=self.stream,
            key="k",
            start_utc=T0,
            end_utc=T0,
            start_offset_s=0,
            end_offset_s=10,
            score=0.9,
            clip_url="http://127.0.0.1:5000/a.mp4",
        )
        self.url = f"/streams/{self.stream.id}/delete/"
        self.login()

    def test_it_stops_the_job_and_deletes_everything(self):
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url, SERVER_API_TOKEN="t"):
            r = self.client.post(self.url, follow=True)
        self.assertRedirects(r, "/")
        self.assertContains(r, "Stopped tracking and deleted xqcow.")
        [call] = server.requests
        self.assertEqual((call.method, call.path), ("DELETE", f"/api/v1/jobs/{self.stream.id}"))
        self.assertEqual(call.headers["Authorization"], "Bearer t")
        self.assertFalse(Stream.objects.exists())
        self.assertFalse(Segment.objects.exists() or Highlight.objects.exists())

    @override_settings(SERVER_URL=closed_port_url())
    def test_it_deletes_locally_when_the_server_is_down(self):
        with self.assertLogs("webapp.streams.views", "WARNING") as logs:
            r = self.client.post(self.url)
        self.assertRedirects(r, "/")
        self.assertFalse(Stream.objects.exists())
        self.assertIn("could not stop job", logs.output[0])

    @override_settings(SERVER_URL=closed_port_url())
    def test_deleting_twice_is_404(self):
        with self.assertLogs("webapp.streams.views", "WARNING"):
            self.client.post(self.url)
        self.assertEqual(self.client.post(self.url).status_code, 404)

    def test_bob_cannot_delete_alices_stream(self):
        self.login(self.bob)
        self.assertEqual(self.client.post(self.url).status_code, 404)
        self.assertTrue(Stream.objects.filter(pk=self.stream.pk).exists())

    def test_get_is_not_allowed(self):
        self.assertEqual(self.client.get(self.url).status_code, 405)
        self.assertTrue(Stream.objects.filter(pk=self.stream.pk).exists())

    def test_a_post_without_csrf_token_is_refused(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.alice)
        self.assertEqual(client.post(self.url).status_code, 403)
        self.assertTrue(Stream.objects.filter(pk=self.stream.pk).exists())

    def test_a_post_with_the_csrf_token_from_the_page_works(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.alice)
        page = client.get(f"/streams/{self.stream.id}/")
        self.assertContains(page, 'data-confirm="Stop tracking and delete xqcow?"')
        token = page.context["csrf_token"]
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            r = client.post(self.url, {"csrfmiddlewaretoken": str(token)})
        self.assertRedirects(r, "/", fetch_redirect_response=False)
        self.assertFalse(Stream.objects.exists())
