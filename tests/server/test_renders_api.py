"""Background renders through the server's API: queued, rendering with progress, stored with the
stream's clips, refused when the request is bad, forgotten when the stream is deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from server_app import AUTH
from waiting import wait_for

from server import media


@pytest.fixture
def app(make_app):
    return make_app(RENDER_WORKERS=1)


@pytest.fixture
def client(app):
    return app.test_client()


def stored_clip(app, stream_id: int = 7, seconds: int = 4) -> str:
    """A landscape clip with sound in the app's media folder, as a highlight's clip is; its URL."""
    root = Path(app.config["MEDIA_ROOT"]) / str(stream_id)
    root.mkdir(parents=True, exist_ok=True)
    clip = root / "7-0001-0002-abc.mp4"
    media.run_ffmpeg(
        ["-f", "lavfi", "-i", f"testsrc2=size=320x180:rate=25:duration={seconds}"]
        + ["-f", "lavfi", "-i", f"sine=duration={seconds}", "-c:v", "libx264", "-preset", "ultrafast"]
        + ["-c:a", "aac", "-shortest", "-y", str(clip)]
    )
    return f"{app.config['MEDIA_BASE_URL']}/{stream_id}/{clip.name}"


def render_body(clip_url: str, **overrides) -> dict:
    return {"stream_id": 7, "name": "7-0001-0002", "clip_url": clip_url, "layout": "vertical", **overrides}


@pytest.mark.timeout(180)
def test_a_trimmed_vertical_render_goes_from_queued_to_ready_and_is_stored_with_the_streams_clips(client, app):
    url = stored_clip(app)
    created = client.post("/api/v1/renders", json=render_body(url, start_s=0.5, end_s=2.5), headers=AUTH)
    assert created.status_code == 202
    render = created.get_json()
    assert render["state"] in ("queued", "rendering") and render["url"] is None
    states = set()

    def ready() -> bool:
        now = client.get(f"/api/v1/renders/{render['id']}", headers=AUTH).get_json()
        states.add(now["state"])
        render.update(now)
        return now["state"] in ("ready", "error")

    assert wait_for(ready, timeout=150, step=0.2)
    assert render["state"] == "ready", render["error"]
    assert render["progress"] == 1.0 and "rendering" in states
    assert render["url"].startswith(f"{app.config['MEDIA_BASE_URL']}/7/7-0001-0002-vertical-")
    stored = Path(app.config["MEDIA_ROOT"]) / render["url"].removeprefix(app.config["MEDIA_BASE_URL"] + "/")
    video = next(s for s in media.probe(stored)["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (1080, 1920)
    assert abs(media.duration_of(stored) - 2.0) <= 0.1
    served = client.get("/media/" + stored.relative_to(app.config["MEDIA_ROOT"]).as_posix())
    assert served.status_code == 200 and served.data[:12] == stored.read_bytes()[:12]
    served.close()


@pytest.mark.parametrize(
    "change, words",
    [
        pytest.param({"layout": "wide"}, "layout must be one of", id="layout"),
        pytest.param({"clip_url": "http://169.254.169.254/latest/x.mp4"}, "storage", id="not-storage"),
        pytest.param({"start_s": 3, "end_s": 2}, "after start_s", id="backwards"),
        pytest.param({"start_s": -1}, ">= 0", id="negative"),
        pytest.param({"name": "../x"}, "name must be", id="name"),
        pytest.param({"stream_id": 0}, "stream_id", id="stream"),
        pytest.param({"extra": 1}, "unknown fields: extra", id="extra"),
    ],
)
def test_a_bad_render_request_is_a_400_saying_what_is_wrong(client, app, change, words):
    body = {**render_body(f"{app.config['MEDIA_BASE_URL']}/7/x.mp4"), **change}
    response = client.post("/api/v1/renders", json=body, headers=AUTH)
    assert response.status_code == 400
    assert words in response.get_json()["error"]


def test_renders_need_the_token_and_an_unknown_one_is_a_404(client):
    assert client.get("/api/v1/renders/nope").status_code == 401
    assert client.get("/api/v1/renders/nope", headers=AUTH).status_code == 404


@pytest.mark.timeout(60)
def test_a_render_of_a_clip_gone_from_storage_ends_in_an_error_that_says_so(client, app):
    response = client.post(
        "/api/v1/renders", json=render_body(f"{app.config['MEDIA_BASE_URL']}/7/gone.mp4"), headers=AUTH
    )
    render_id = response.get_json()["id"]
    assert wait_for(lambda: client.get(f"/api/v1/renders/{render_id}", headers=AUTH).get_json()["state"] == "error")
    assert "no longer in storage" in client.get(f"/api/v1/renders/{render_id}", headers=AUTH).get_json()["error"]


@pytest.mark.timeout(60)
def test_deleting_the_stream_forgets_its_renders(client, app):
    url = stored_clip(app, seconds=1)
    render_id = client.post("/api/v1/renders", json=render_body(url), headers=AUTH).get_json()["id"]
    assert client.delete("/api/v1/jobs/7", headers=AUTH).status_code == 204
    assert client.get(f"/api/v1/renders/{render_id}", headers=AUTH).status_code == 404


@pytest.mark.timeout(180)
def test_a_render_downloads_its_clip_from_either_backend_and_stores_the_result_beside_it(backend, tmp_path):
    import requests

    from server.renders import RenderQueue

    storage = backend.make()
    clip = tmp_path / "clip.mp4"
    media.run_ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2", "-f", "lavfi", "-i", "sine=duration=2"]
        + ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(clip)]
    )
    clip_url = storage.put(clip, "7/7-0001-0002-abc.mp4", "video/mp4")
    queue = RenderQueue(storage, tmp_path / "work", workers=1, niceness=5)  # no local folder: over HTTP
    try:
        render = queue.submit(
            {
                "stream_id": 7,
                "name": "7-0001-0002",
                "clip_url": clip_url,
                "layout": "square",
                "start_s": 0.0,
                "end_s": None,
            }
        )
        assert wait_for(lambda: render.state in ("ready", "error"), timeout=150)
        assert render.state == "ready", render.error
    finally:
        queue.stop()
    assert render.url.rsplit("/", 2)[0] == clip_url.rsplit("/", 2)[0]  # same bucket/folder, under 7/
    answer = requests.get(render.url, timeout=10)
    assert answer.status_code == 200
    (tmp_path / "got.mp4").write_bytes(answer.content)
    video = next(s for s in media.probe(tmp_path / "got.mp4")["streams"] if s["codec_type"] == "video")
    assert (video["width"], video["height"]) == (1080, 1080)
    assert not any((tmp_path / "work").iterdir()), "the render's scratch folder is removed"


def test_render_threads_run_below_the_scoring_threads_priority(tmp_path):
    import os
    import threading

    from server.renders import RenderQueue
    from server.storage import LocalStorage

    queue = RenderQueue(LocalStorage(tmp_path, "http://127.0.0.1:9/media"), tmp_path / "work", niceness=7)
    try:
        here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        there = queue._pool.submit(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result()
    finally:
        queue.stop()
    assert there == min(here + 7, 19)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == here  # this thread untouched
