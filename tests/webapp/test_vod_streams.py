"""Past broadcasts (VODs) in the webapp: the add form checks the link and the chat file (parsed
by the analysis's own reader) before anything is kept, hands the file to the real processing
server and keeps no copy, shows the VOD's progress, and is scoped to its owner like any stream."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from vod_playlist import VodServer, write_vod_playlist
from werkzeug.serving import make_server

from webapp.streams.models import Stream
from webapp.test import BaseTestCase, closed_port_url

DEMO_CHAT = Path(__file__).resolve().parents[2] / "server" / "demo" / "media" / "xqcow-2019-09-15.irc.gz"
GAMEPLAY = DEMO_CHAT.parent / "seed-gameplay.mp4"
SERVER_TOKEN = "vod-test-server-token-0123456789abcdefghijkl"


def chat_upload(content: bytes, name: str = "chat.irc.gz"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


class VodTestCase(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _folders(self, tmp_path, demo_segments):
        self.tmp_path, self.demo_segments = tmp_path, demo_segments
        self.uploads = tmp_path / "vod-uploads"
        settings = override_settings(
            VOD_UPLOAD_DIR=self.uploads,
            ALLOWED_SOURCE_HOSTS=["127.0.0.1:8089"],
            VOD_MAX_RECORDING_BYTES=10_000_000,  # off by default: waitress reads a body before the session
            VOD_UPLOAD_CHUNK_BYTES=1_000_000,  # the 1.7 MB demo clip goes to the server in two parts
        )
        with settings:
            yield

    def setUp(self):
        super().setUp()
        self.login()

    def add_vod(self, source="hls://http://127.0.0.1:8089/index.m3u8", chat=None, client=None, recording=None):
        data = {"kind": "vod", "vod_source": source}
        if chat is not None:
            data["chat_file"] = chat
        if recording is not None:
            data["recording"] = recording
        return (client or self.client).post("/", data, follow=True)

    def kept_uploads(self) -> list[Path]:
        return sorted(self.uploads.iterdir()) if self.uploads.exists() else []


@override_settings(SERVER_URL=closed_port_url())
class VodFormTestCase(VodTestCase):
    def test_a_malformed_chat_file_is_refused_in_words_and_leaves_nothing_behind(self):
        for content, words in [
            (b'{"comments": [{"commenter": {}}]}', "comment 0 is malformed"),
            (b"\x00\x01binary garbage\xff" * 50, "no Twitch IRC chat lines"),
            (DEMO_CHAT.read_bytes()[:300], "broken gzip"),
        ]:
            with self.subTest(words):
                r = self.add_vod(chat=chat_upload(content))
                self.assertEqual(r.status_code, 200)
                self.assertContains(r, "Not a chat file we can read")
                self.assertContains(r, words)
                self.assertNotContains(r, str(self.uploads), msg_prefix="no server path in the words")
                self.assertFalse(Stream.objects.filter(kind=Stream.KIND_VOD).exists())
                self.assertEqual(self.kept_uploads(), [])

    def test_a_non_media_upload_is_refused_in_words_and_leaves_nothing_behind(self):
        for name, content in [("notes.mp4", b"just text, no video\n" * 200), ("chat.irc.gz", DEMO_CHAT.read_bytes())]:
            with self.subTest(name):
                r = self.add_vod("", recording=chat_upload(content, name), chat=chat_upload(DEMO_CHAT.read_bytes()))
                self.assertContains(r, "Not a recording we can read: no video or audio")
                self.assertFalse(Stream.objects.filter(kind=Stream.KIND_VOD).exists())
                self.assertEqual(self.kept_uploads(), [], "neither the recording nor the valid chat file")

    def test_a_past_broadcast_is_a_link_or_a_recording_not_both_nor_neither(self):
        r = self.add_vod("")
        self.assertContains(r, "Give either a link to the past broadcast or a recording to upload.")
        r = self.add_vod("https://www.twitch.tv/videos/1", recording=chat_upload(GAMEPLAY.read_bytes(), "a.mp4"))
        self.assertContains(r, "Give either a link to the past broadcast or a recording to upload.")
        self.assertFalse(Stream.objects.filter(kind=Stream.KIND_VOD).exists())
        self.assertEqual(self.kept_uploads(), [])

    def test_a_recording_waits_for_the_server_and_is_deleted_with_the_stream(self):
        self.add_vod("", recording=chat_upload(GAMEPLAY.read_bytes(), "last night.mp4"))
        stream = Stream.objects.get(kind=Stream.KIND_VOD)
        self.assertEqual((stream.name, stream.server_source), ("Uploaded recording: last night.mp4", "upload"))
        self.assertEqual([p.name for p in self.kept_uploads()], [stream.recording_upload])
        self.client.post(f"/streams/{stream.id}/delete/")
        self.assertEqual(self.kept_uploads(), [])

    def test_recording_uploads_are_off_unless_a_size_is_allowed(self):
        with override_settings(VOD_MAX_RECORDING_BYTES=0):
            self.assertNotContains(self.client.get("/"), "upload a recording")
            r = self.add_vod("", recording=chat_upload(GAMEPLAY.read_bytes(), "a.mp4"))
        self.assertContains(r, "Give either a link to the past broadcast or a recording to upload.")
        self.assertEqual(self.kept_uploads(), [])
        self.assertContains(self.client.get("/"), "upload a recording")

    def test_a_chat_file_over_the_limit_is_refused(self):
        with override_settings(VOD_MAX_CHAT_BYTES=1000):
            r = self.add_vod(chat=chat_upload(DEMO_CHAT.read_bytes()))
        self.assertContains(r, "the most allowed is 1,000")
        self.assertFalse(Stream.objects.filter(kind=Stream.KIND_VOD).exists())
        self.assertEqual(self.kept_uploads(), [])

    def test_a_channel_or_a_host_off_the_allow_list_is_not_a_past_broadcast(self):
        for source, words in [
            ("xqcow", "A past broadcast is a link"),
            ("https://www.twitch.tv/xqcow", "looks like https://www.twitch.tv/videos/"),
            ("hls://http://127.0.0.1:9999/index.m3u8", "not allowed"),
        ]:
            with self.subTest(source):
                r = self.add_vod(source, chat=chat_upload(DEMO_CHAT.read_bytes()))
                self.assertContains(r, words)
                self.assertEqual(self.kept_uploads(), [], "a valid chat file is not kept when the link is wrong")
        self.assertFalse(Stream.objects.filter(kind=Stream.KIND_VOD).exists())

    def test_a_twitch_video_link_waits_for_the_server_with_its_chat_file_then_delete_removes_the_file(self):
        r = self.add_vod("twitch.tv/videos/2212345678/", chat=chat_upload(DEMO_CHAT.read_bytes()))
        stream = Stream.objects.get(kind=Stream.KIND_VOD)
        self.assertEqual((stream.source, stream.state), ("https://www.twitch.tv/videos/2212345678", Stream.WAITING))
        self.assertContains(r, "VOD (past broadcast)")
        [kept] = self.kept_uploads()
        self.assertEqual(kept.name, stream.chat_upload, "kept under a random name until the server has it")
        self.assertNotIn("irc", kept.name.removesuffix(".gz"), "not the user's file name")
        self.client.post(f"/streams/{stream.id}/delete/")
        self.assertFalse(Stream.objects.filter(pk=stream.pk).exists())
        self.assertEqual(self.kept_uploads(), [], "the upload is deleted with the stream")

    def test_another_user_can_neither_see_nor_delete_a_vod(self):
        self.add_vod("https://www.twitch.tv/videos/1", chat=chat_upload(DEMO_CHAT.read_bytes()))
        stream = Stream.objects.get(kind=Stream.KIND_VOD)
        self.login(self.bob)
        self.assertEqual(self.client.get(f"/streams/{stream.id}/").status_code, 404)
        self.assertEqual(self.client.get(f"/streams/{stream.id}/status.json").status_code, 404)
        self.assertEqual(self.client.post(f"/streams/{stream.id}/delete/").status_code, 404)
        self.assertTrue(Stream.objects.filter(pk=stream.pk).exists())
        self.assertEqual(len(self.kept_uploads()), 1)

    def test_the_form_needs_its_csrf_token(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.alice)
        r = client.post("/", {"kind": "vod", "vod_source": "https://www.twitch.tv/videos/1",
                              "chat_file": chat_upload(DEMO_CHAT.read_bytes())})  # fmt: skip
        self.assertEqual(r.status_code, 403)
        self.assertFalse(Stream.objects.filter(kind=Stream.KIND_VOD).exists())
        self.assertEqual(self.kept_uploads(), [])


class VodProgressTestCase(VodTestCase):
    def test_the_stream_page_shows_the_vods_progress_time_left_and_the_end(self):
        stream = Stream.objects.create(owner=self.alice, source="https://www.twitch.tv/videos/5", kind=Stream.KIND_VOD,
                                       state=Stream.LIVE, progress=0.42, eta_s=31.4, duration_s=120.0)  # fmt: skip
        r = self.client.get(f"/streams/{stream.id}/")
        self.assertContains(r, "VOD (past broadcast)")
        self.assertContains(r, "Processing")
        self.assertContains(r, "42% · about 31 s left")
        status = self.client.get(f"/streams/{stream.id}/status.json").json()
        self.assertEqual((status["kind"], status["state_label"], status["progress"], status["eta_s"]),
                         ("vod", "Processing", 0.42, 31.4))  # fmt: skip
        Stream.objects.filter(pk=stream.pk).update(state=Stream.FINISHED, progress=1.0, eta_s=0.0)
        self.assertContains(self.client.get(f"/streams/{stream.id}/"), "100% · finished")
        self.assertNotContains(self.client.get(f"/streams/{self.stream.id}/"), "VOD", msg_prefix="a live stream")

    def test_a_vod_the_server_stopped_reporting_says_so_and_what_to_do(self):
        stream = Stream.objects.create(owner=self.alice, source="https://www.twitch.tv/videos/7", kind=Stream.KIND_VOD,
                                       state=Stream.LIVE, progress=0.3)  # fmt: skip
        Stream.objects.filter(pk=stream.pk).update(updated=timezone.now() - timedelta(minutes=5))
        note = self.client.get(f"/streams/{stream.id}/status.json").json()["quiet_note"]
        self.assertEqual(note, "No progress from the processing server for 5 minutes: it may be down, or it "
                               "restarted and lost this past broadcast; delete it and add it again.")  # fmt: skip

    @override_settings(INGEST_API_TOKEN="ingest-s3cret")
    def test_the_ingest_api_takes_a_vods_progress_and_its_end(self):
        stream = Stream.objects.create(owner=self.alice, source="https://www.twitch.tv/videos/6", kind=Stream.KIND_VOD)
        for doc in [
            {"state": "live", "segments_done": 3, "kind": "vod", "duration_s": 120.0, "progress": 0.1, "eta_s": 9.5},
            {"state": "finished", "segments_done": 30, "kind": "vod", "duration_s": 120.0, "progress": 1.0, "eta_s": 0},
        ]:
            r = Client().post(f"/api/v1/streams/{stream.id}/status", doc, content_type="application/json",
                              headers={"Authorization": "Bearer ingest-s3cret"})  # fmt: skip
            self.assertEqual(r.status_code, 200, r.content)
            stream.refresh_from_db()
            self.assertEqual(
                (stream.state, stream.progress, stream.eta_s), (doc["state"], doc["progress"], doc["eta_s"])
            )
        r = Client().post(f"/api/v1/streams/{stream.id}/status", {"state": "live", "progress": 1.5},
                          content_type="application/json", headers={"Authorization": "Bearer ingest-s3cret"})  # fmt: skip
        self.assertEqual(r.status_code, 400)


class VodHandOverTestCase(VodTestCase):
    """With the real processing server on loopback: the chat file goes to it, no copy stays here."""

    @pytest.fixture(autouse=True)
    def _server(self, _folders):
        from server.app import create_app, shutdown

        write_vod_playlist(self.demo_segments, self.tmp_path / "vod")
        self.vod = VodServer(self.tmp_path / "vod")
        app = create_app({
            "SERVER_API_TOKEN": SERVER_TOKEN, "INGEST_API_TOKEN": "vod-test-ingest-token-0123456789abcdefghijkl",
            "DATA_DIR": self.tmp_path / "data", "MEDIA_ROOT": self.tmp_path / "media", "SEGMENT_SECONDS": 4.0,
            "ALLOWED_SOURCE_HOSTS": [f"127.0.0.1:{self.vod.port}"], "ALLOWED_CALLBACK_HOSTS": ["127.0.0.1"],
            "CHAT_SENTIMENT_BACKEND": "lexicon", "REPORT_RETRY_MAX_S": 0.5, "VOD_MAX_RECORDING_BYTES": 10_000_000,
        })  # fmt: skip
        self.app = app
        http = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        settings = override_settings(SERVER_URL=f"http://127.0.0.1:{http.server_port}", SERVER_API_TOKEN=SERVER_TOKEN,
                                     ALLOWED_SOURCE_HOSTS=[f"127.0.0.1:{self.vod.port}"])  # fmt: skip
        with settings:
            yield
        http.shutdown()
        shutdown(app)
        self.vod.close()

    def test_the_chat_file_is_handed_to_the_server_and_no_copy_is_kept(self):
        r = self.add_vod(self.vod.url, chat=chat_upload(DEMO_CHAT.read_bytes()))
        stream = Stream.objects.get(kind=Stream.KIND_VOD)
        self.assertRedirects(r, f"/streams/{stream.id}/")
        self.assertContains(r, "Analysing the past broadcast")
        self.assertEqual((stream.chat_upload, self.kept_uploads()), ("", []), "the server has it now")
        job = self.app.extensions["jobs"].get(stream.id)
        self.assertIsNotNone(job, "the server runs the VOD job")
        self.assertIsNotNone(job.chat_path, "with the chat file it was given")
        self.assertEqual(job.to_dict()["kind"], "vod")

    def test_an_uploaded_recording_is_handed_to_the_server_and_no_copy_is_kept(self):
        r = self.add_vod("", recording=chat_upload(GAMEPLAY.read_bytes(), "gameplay.mp4"))
        stream = Stream.objects.get(kind=Stream.KIND_VOD)
        self.assertRedirects(r, f"/streams/{stream.id}/")
        self.assertEqual((stream.recording_upload, self.kept_uploads()), ("", []), "the server has it now")
        job = self.app.extensions["jobs"].get(stream.id)
        self.assertIsNotNone(job, "the server runs the VOD job")
        self.assertEqual(job.request.stream_url, "upload")
        self.assertIsNotNone(job.recording, "on the recording it was given")
