"""The whole path as a user walks it: sign up, add the demo channel, a highlight clip appears,
delete the stream, and nothing of its job keeps running. Every part is a real process."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import requests
from waiting import wait_for


def probe(path) -> dict:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.mark.timeout(600)
def test_a_user_adds_the_demo_channel_and_gets_a_playable_highlight(stack, visitor, tmp_path):
    user = visitor
    signup = user.sign_up(stack.webapp_url, "alice")
    assert signup.url.rstrip("/") == stack.webapp_url, "signed up and landed on the dashboard"
    stream_id = user.add_stream(stack.webapp_url, "demo_channel")
    stream_page = f"/streams/{stream_id}/"
    status_url = f"{stack.webapp_url}{stream_page}status.json"

    model = requests.get(f"{stack.server_url}/api/v1/model", headers=stack.server_auth, timeout=10).json()
    assert model["path"] == str(stack.workdir / "model" / "metamodel.json"), "where staff retraining writes"
    assert model["serving"].endswith("default_model.json"), "the shipped model until then"

    live = wait_for(lambda: user.get(status_url).json()["state"] == "live", timeout=90, step=1.0)
    assert live, user.get(status_url).text
    status = wait_for(lambda: (s := user.get(status_url).json())["highlights"] and s, timeout=300, step=1.0)
    assert status, f"no highlight in 5 minutes; server log:\n{stack.log_of('server')[-3000:]}"

    highlight = status["highlights"][0]
    # One highlight counter: the slider's estimate (the webapp replaying the server's selector on
    # the scores it stored) is what the server published, once the clip export has caught up.
    feedback_url = f"{stack.webapp_url}{stream_page}feedback.json"

    def counts() -> tuple[int, int]:
        return user.get(feedback_url).json()["estimate"]["highlights"], len(user.get(status_url).json()["highlights"])

    agreed = wait_for(lambda: (c := counts())[0] == c[1], timeout=60, step=1.0)
    assert agreed, f"estimate, published: {counts()}"
    assert highlight["reasons"] and all(r["text"] for r in highlight["reasons"])
    clip, thumb = tmp_path / "clip.mp4", tmp_path / "thumb.jpg"
    clip.write_bytes(requests.get(highlight["clip_url"], timeout=10).content)
    thumb.write_bytes(requests.get(highlight["thumbnail_url"], timeout=10).content)
    info = probe(clip)
    assert {s["codec_name"] for s in info["streams"]} >= {"h264", "aac"}
    assert float(info["format"]["duration"]) >= 9
    data = clip.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "faststart: playable while it downloads"
    assert thumb.read_bytes()[:3] == b"\xff\xd8\xff", "the thumbnail is a JPEG"
    page = user.get(f"{stack.webapp_url}{stream_page}").text
    assert "status.json" in page or "data-status-url" in page

    jobs = requests.get(f"{stack.server_url}/api/v1/jobs", headers=stack.server_auth).json()["jobs"]
    assert [j["state"] for j in jobs] == ["live"]
    page = user.get(f"{stack.webapp_url}{stream_page}")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    gone = user.post(
        f"{stack.webapp_url}{stream_page}delete/", data={"csrfmiddlewaretoken": token}, headers={"Referer": page.url}
    )
    assert gone.url.rstrip("/") == stack.webapp_url and f'href="{stream_page}"' not in gone.text
    assert requests.get(f"{stack.server_url}/api/v1/jobs", headers=stack.server_auth).json()["jobs"] == []
    assert user.get(status_url).status_code == 404
