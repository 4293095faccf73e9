"""The server's job API (contract v1) and the life of a job on a live loopback stream."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from processes import children_named
from server_app import AUTH, job_body
from waiting import wait_for


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def ffmpeg_children() -> list[int]:
    return children_named(os.getpid(), "ffmpeg")


@pytest.mark.parametrize(
    "headers, status",
    [
        pytest.param({}, 401, id="no-token"),
        pytest.param({"Authorization": "Token abc"}, 401, id="wrong-scheme"),
        pytest.param({"Authorization": "Bearer nope"}, 403, id="wrong-token"),
    ],
)
def test_the_api_refuses_requests_without_the_right_token(client, headers, status):
    response = client.get("/api/v1/jobs", headers=headers)
    assert response.status_code == status
    assert "error" in response.get_json()


def test_a_body_that_is_not_json_is_a_400(client):
    response = client.post("/api/v1/jobs", data="{nope", headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("could not parse request body as JSON")


def test_a_source_on_a_host_not_allowed_is_a_400_naming_the_host(client, webapp_stub):
    response = client.post("/api/v1/jobs", json=job_body(webapp_stub, source="http://169.254.169.254/x"), headers=AUTH)
    assert response.status_code == 400
    assert "169.254.169.254" in response.get_json()["error"]


def test_an_unknown_job_is_a_404_and_deleting_it_is_still_a_204(client):
    assert client.get("/api/v1/jobs/99", headers=AUTH).status_code == 404
    assert client.delete("/api/v1/jobs/99", headers=AUTH).status_code == 204


@pytest.mark.timeout(120)
def test_a_job_goes_live_reports_scored_segments_and_stops_completely(client, app, webapp_stub):
    created = client.post("/api/v1/jobs", json=job_body(webapp_stub), headers=AUTH)
    assert created.status_code == 201
    again = client.post("/api/v1/jobs", json=job_body(webapp_stub), headers=AUTH)
    assert again.status_code == 200  # one job per stream

    assert wait_for(lambda: len(webapp_stub.posted("segments")) >= 2, timeout=60)
    job = client.get("/api/v1/jobs/1", headers=AUTH).get_json()
    assert job["state"] == "live" and job["segments_done"] >= 2
    assert "chat off: no chat channel" in job["degraded"]
    segment = webapp_stub.posted("segments")[0]["segments"][0]
    assert segment["duration_s"] == pytest.approx(4.0, abs=0.5)
    assert 0 <= segment["score"] <= 1
    assert segment["features"]["motion_mean"] >= 0 and segment["features"]["chat_messages"] is None
    assert ffmpeg_children(), "the segmenter runs as a child ffmpeg"

    assert client.delete("/api/v1/jobs/1", headers=AUTH).status_code == 204
    assert not [t for t in __import__("threading").enumerate() if t.name in ("ingest-1", "score-1", "ingest-pump")]
    assert wait_for(lambda: not ffmpeg_children(), timeout=5)
    assert not (Path(app.config["DATA_DIR"]) / "segments" / "1").exists()
    assert client.get("/api/v1/jobs/1", headers=AUTH).status_code == 404


@pytest.mark.timeout(120)
def test_an_offline_channel_is_retried_and_its_state_says_so(client, webapp_stub):
    client.post("/api/v1/jobs", json=job_body(webapp_stub, source="nobody_here"), headers=AUTH)
    assert wait_for(lambda: client.get("/api/v1/jobs/1", headers=AUTH).get_json()["state"] == "offline")
    assert "offline" in client.get("/api/v1/jobs/1", headers=AUTH).get_json()["last_error"]
    assert wait_for(lambda: any(s["state"] == "offline" for s in webapp_stub.posted("status"))), (
        "the webapp is told too (by the outbox, a moment later)"
    )


@pytest.mark.timeout(180)
def test_a_stream_that_drops_mid_way_goes_offline_then_live_again(client, hls_server, webapp_stub):
    client.post("/api/v1/jobs", json=job_body(webapp_stub), headers=AUTH)
    state = lambda: client.get("/api/v1/jobs/1", headers=AUTH).get_json()["state"]  # noqa: E731
    assert wait_for(lambda: state() == "live", timeout=60)
    hls_server.set_online("demo_channel", False)
    assert wait_for(lambda: state() == "offline", timeout=60)
    before = len(webapp_stub.posted("segments"))
    hls_server.set_online("demo_channel", True)
    assert wait_for(lambda: state() == "live" and len(webapp_stub.posted("segments")) > before, timeout=60)
    seqs = [s["segments"][0]["seq"] for s in webapp_stub.posted("segments")]
    assert seqs == sorted(set(seqs)), "sequence numbers continue across the reconnect"
