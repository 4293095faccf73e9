"""A past broadcast (VOD) through the server's API: an ended loopback HLS playlist cut from the
demo clips plus the demo's real IRC chat log, analysed faster than real time with the live job's
scoring and selection; its chat file is validated before it is kept and deleted at the end."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest
from server_app import AUTH, job_body
from vod_playlist import VodServer, write_vod_playlist
from waiting import wait_for

from server.chat.logs import read_chat_file
from server.validation import ValidationError, validate_job

DEMO_CHAT = Path(__file__).resolve().parents[2] / "server" / "demo" / "media" / "xqcow-2019-09-15.irc.gz"


@pytest.fixture
def vod(demo_segments, tmp_path):
    """The whole demo (120 s, 60 segments of 2 s) as an ended playlist: 30 job segments of 4 s."""
    write_vod_playlist(demo_segments, tmp_path / "vod")
    server = VodServer(tmp_path / "vod")
    yield server
    server.close()


@pytest.fixture
def app(make_app, vod):
    return make_app(ALLOWED_SOURCE_HOSTS=[f"127.0.0.1:{vod.port}"], VOD_MAX_RECORDING_BYTES=10_000_000)


@pytest.fixture
def client(app):
    return app.test_client()


def vod_folder(app) -> Path:
    return Path(app.config["DATA_DIR"]) / "vod"


def put_chat(client, body: bytes, stream_id: int = 1):
    return client.put(f"/api/v1/jobs/{stream_id}/chat", data=body, headers=AUTH)


def test_a_past_broadcast_with_its_chat_file_is_analysed_to_the_end_faster_than_real_time(
    app, client, vod, webapp_stub
):
    answer = put_chat(client, DEMO_CHAT.read_bytes())
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["format"] == "irc" and answer.get_json()["messages"] > 1000
    started = time.monotonic()
    created = client.post(
        "/api/v1/jobs", json=job_body(webapp_stub, source=vod.url, kind="vod", highlights_per_hour=60), headers=AUTH
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["kind"] == "vod"

    def finished():
        return any(s["state"] == "finished" for s in webapp_stub.posted("status"))

    assert wait_for(finished, timeout=240, step=0.5)
    took = time.monotonic() - started
    segments = [s for batch in webapp_stub.posted("segments") for s in batch["segments"]]
    assert [s["seq"] for s in segments] == list(range(30)), "every 4 s of the 120 s recording, once, in order"
    assert took < 120, f"faster than real time: {took:.0f} s for 120 s"
    assert sum(s["features"]["chat_messages"] or 0 for s in segments) > 0, "the chat file's messages were counted"
    statuses = webapp_stub.posted("status")
    progress = [s["progress"] for s in statuses if s.get("progress") is not None]
    assert progress == sorted(progress) and progress[-1] == 1.0 and len(set(progress)) >= 3, progress
    assert all(s["kind"] == "vod" and s["duration_s"] == 120.0 for s in statuses if s.get("progress") is not None)
    assert any(s["eta_s"] and s["eta_s"] > 0 for s in statuses), "a time left while it runs"
    assert statuses[-1]["state"] == "finished" and statuses[-1]["eta_s"] == 0.0
    assert wait_for(lambda: webapp_stub.posted("highlights"), timeout=60), "highlights published like a live job's"
    highlight = webapp_stub.posted("highlights")[0]
    assert (
        highlight["clip_url"].endswith(".mp4") and 0 <= highlight["start_offset_s"] < highlight["end_offset_s"] <= 120.5
    )
    assert not vod_folder(app).exists(), "the chat file is deleted when its analysis ends"
    assert not (Path(app.config["DATA_DIR"]) / "segments" / "1").exists(), "and the ring buffer"
    log = read_chat_file(DEMO_CHAT)
    said = [m.text for m in log.messages if m.ts < log.video_start + 130 and len(m.text) >= 12]
    sent = json.dumps(webapp_stub.requests)
    assert said and not [text for text in said if json.dumps(text)[1:-1] in sent], "counts and scores, no messages"
    assert client.get("/api/v1/jobs/1", headers=AUTH).status_code == 404, "a finished VOD leaves the server"


@pytest.mark.parametrize(
    "body, words",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "no Twitch IRC chat lines", id="binary"),
        pytest.param(b'{"comments": [{"commenter": {}}]}', "comment 0 is malformed", id="bad-twitchdownloader-json"),
        pytest.param(b'{"comments": ', "not valid JSON", id="cut-json"),
        pytest.param(gzip.compress(b"@badges= :x PRIVMSG #a :hi\n")[:20], "broken gzip", id="cut-gzip"),
        pytest.param(b"", "empty", id="empty"),
    ],
)
def test_a_malformed_chat_file_is_refused_in_words_and_leaves_nothing_behind(app, client, body, words):
    answer = put_chat(client, body)
    assert answer.status_code == 400
    assert words in answer.get_json()["error"]
    assert str(app.config["DATA_DIR"]) not in answer.get_json()["error"], "no server path in the words"
    assert not vod_folder(app).exists(), "nothing left behind"


def test_a_chat_file_over_the_limit_is_refused_and_not_kept(make_app, vod):
    app = make_app(ALLOWED_SOURCE_HOSTS=[f"127.0.0.1:{vod.port}"], VOD_MAX_CHAT_BYTES=1000)
    answer = put_chat(app.test_client(), DEMO_CHAT.read_bytes())
    assert answer.status_code == 413 and "larger than 1000 bytes" in answer.get_json()["error"]
    assert not vod_folder(app).exists(), "nothing left behind"


def test_a_twitchdownloader_chat_json_is_accepted(app, client):
    comments = [
        {"_id": str(i), "content_offset_seconds": i * 1.5, "commenter": {"name": "viewer"},
         "message": {"body": "PogChamp", "fragments": [{"text": "PogChamp", "emoticon": {"emoticon_id": "1"}}]}}
        for i in range(20)
    ]  # fmt: skip
    answer = put_chat(client, json.dumps({"comments": comments}).encode())
    assert answer.status_code == 201 and answer.get_json() == {
        "stream_id": 1,
        "format": "twitchdownloader",
        "messages": 20,
    }


def test_deleting_a_past_broadcast_stops_its_job_and_deletes_its_chat_file(app, client, vod, webapp_stub):
    assert put_chat(client, DEMO_CHAT.read_bytes()).status_code == 201
    body = job_body(webapp_stub, source=vod.url, kind="vod")
    assert client.post("/api/v1/jobs", json=body, headers=AUTH).status_code == 201
    assert client.delete("/api/v1/jobs/1", headers=AUTH).status_code == 204
    assert not vod_folder(app).exists()
    assert client.get("/api/v1/jobs/1", headers=AUTH).status_code == 404


def test_a_chat_file_whose_stream_is_deleted_before_its_job_starts_is_deleted(app, client):
    assert put_chat(client, DEMO_CHAT.read_bytes(), stream_id=7).status_code == 201
    assert client.delete("/api/v1/jobs/7", headers=AUTH).status_code == 204
    assert not vod_folder(app).exists()


def test_a_server_restart_drops_the_chat_files_of_vods_it_will_not_resume(make_app, vod):
    first = make_app(ALLOWED_SOURCE_HOSTS=[f"127.0.0.1:{vod.port}"])
    assert put_chat(first.test_client(), DEMO_CHAT.read_bytes()).status_code == 201
    second = make_app(ALLOWED_SOURCE_HOSTS=[f"127.0.0.1:{vod.port}"])
    assert not vod_folder(second).exists()


ALLOWED = ["127.0.0.1:8080"]


def test_a_twitch_video_link_is_a_vod_source_and_a_channel_name_is_not():
    def check(**fields):
        data = {"stream_id": 3, "callback_base": "http://127.0.0.1:8000", **fields}
        return validate_job(data, ALLOWED, ["127.0.0.1"], "https://twitch.tv/{login}")

    job = check(source="https://www.twitch.tv/videos/2212345678", kind="vod")
    assert (job.kind, job.stream_url) == ("vod", "https://www.twitch.tv/videos/2212345678")
    with pytest.raises(ValidationError, match="twitch.tv/videos"):
        check(source="xqcow", kind="vod")
    with pytest.raises(ValidationError, match="not allowed"):
        check(source="https://www.twitch.tv/videos/2212345678", kind="live")
    with pytest.raises(ValidationError, match="kind must be"):
        check(source="xqcow", kind="clip")
    assert check(source="xqcow").kind == "live", "without a kind: a live channel, as before"


GAMEPLAY = DEMO_CHAT.parent / "seed-gameplay.mp4"


def put_in_parts(client, what: str, data: bytes, part: int = 512 * 1024):
    """PUT an upload as the webapp does: parts at increasing offsets, the last one marked."""
    for offset in range(0, len(data), part):
        last = offset + part >= len(data)
        answer = client.put(f"/api/v1/jobs/1/{what}?offset={offset}&last={int(last)}",
                            data=data[offset : offset + part], headers=AUTH)  # fmt: skip
        if last or answer.status_code != 202:
            return answer
    raise AssertionError("no data")


def test_an_uploaded_recording_is_analysed_and_deleted_at_the_end(app, client, webapp_stub):
    answer = put_in_parts(client, "recording", GAMEPLAY.read_bytes())
    assert answer.status_code == 201, answer.get_json()
    duration = answer.get_json()["duration_s"]
    assert 60 <= duration < 62, "the 60 s Twitch clip"
    body = job_body(webapp_stub, source="upload", kind="vod", highlights_per_hour=60)
    assert client.post("/api/v1/jobs", json=body, headers=AUTH).status_code == 201
    assert wait_for(lambda: any(s["state"] == "finished" for s in webapp_stub.posted("status")), timeout=240)
    segments = [s for batch in webapp_stub.posted("segments") for s in batch["segments"]]
    assert [s["seq"] for s in segments] == list(range(len(segments))), "once each, in order"
    assert abs(sum(s["duration_s"] for s in segments) - duration) < 0.5, "the whole recording, cut at its keyframes"
    assert max(s["features"]["audio_peak"] or 0 for s in segments) > 0, "the recording's own audio was scored"
    assert not vod_folder(app).exists(), "the recording is deleted when its analysis ends"


@pytest.mark.parametrize(
    "body, words",
    [
        pytest.param(b"just some text, no video here\n" * 100, "not a recording we can read", id="text"),
        pytest.param(DEMO_CHAT.read_bytes(), "not a recording we can read", id="a-chat-log"),
        pytest.param(b"", "empty", id="empty"),
    ],
)
def test_a_non_media_upload_is_refused_in_words_and_leaves_nothing_behind(app, client, body, words):
    answer = client.put("/api/v1/jobs/1/recording", data=body, headers=AUTH)
    assert answer.status_code == 400 and words in answer.get_json()["error"], answer.get_json()
    assert str(app.config["DATA_DIR"]) not in answer.get_json()["error"]
    assert not vod_folder(app).exists(), "nothing left behind"


def test_uploads_come_in_parts_no_bigger_than_the_part_limit_and_in_order(app, client):
    data = GAMEPLAY.read_bytes()
    whole = client.put("/api/v1/jobs/1/recording", data=data, headers=AUTH)
    assert whole.status_code == 413 and "larger than 1048576 bytes" in whole.get_json()["error"]
    first = client.put("/api/v1/jobs/1/recording?offset=0&last=0", data=data[:1000], headers=AUTH)
    assert (first.status_code, first.get_json()["received"]) == (202, 1000)
    gap = client.put("/api/v1/jobs/1/recording?offset=5000&last=1", data=data[5000:6000], headers=AUTH)
    assert gap.status_code == 409 and "1000 bytes have come so far" in gap.get_json()["error"]
    bad = client.put("/api/v1/jobs/1/recording?offset=-1", data=b"x", headers=AUTH)
    assert bad.status_code == 400
    rest = put_in_parts(client, "recording", data)  # from offset 0 again: a new upload replaces it
    assert rest.status_code == 201, rest.get_json()
    assert sorted(p.name for p in (vod_folder(app) / "1").iterdir()) == ["recording.ts"]


def test_recording_uploads_are_off_unless_a_size_is_allowed(make_app, vod):
    client = make_app(ALLOWED_SOURCE_HOSTS=[f"127.0.0.1:{vod.port}"]).test_client()
    answer = client.put("/api/v1/jobs/1/recording", data=b"x", headers=AUTH)
    assert answer.status_code == 403 and "recording uploads are off" in answer.get_json()["error"]


def test_a_job_for_an_upload_that_never_came_is_refused(client, webapp_stub):
    answer = client.post("/api/v1/jobs", json=job_body(webapp_stub, source="upload", kind="vod"), headers=AUTH)
    assert answer.status_code == 400 and "no recording uploaded" in answer.get_json()["error"]
