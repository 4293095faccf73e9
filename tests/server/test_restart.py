"""A server restart loses no work: running jobs resume where they were, undelivered reports are re-sent."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from server_app import AUTH, job_body
from waiting import wait_for

from server.app import shutdown
from server.job_store import JobStore, SavedJob
from server.reporter import Reporter
from server.validation import JobRequest


@pytest.fixture
def start_app(make_app):
    """Start the server on one DATA_DIR; call again for a restart."""
    return lambda **overrides: make_app(**{"REPORT_RETRY_MAX_S": 0.3, **overrides})


def seqs(webapp_stub) -> list[int]:
    return [s["seq"] for body in webapp_stub.posted("segments") for s in body["segments"]]


def saved_jobs(data_dir: Path) -> list[dict]:
    return json.loads((data_dir / "jobs.json").read_text())["jobs"]


@pytest.mark.timeout(120)
def test_a_running_job_resumes_after_a_restart_with_seqs_past_every_earlier_one(start_app, webapp_stub, tmp_path):
    app = start_app()
    created = app.test_client().post("/api/v1/jobs", json=job_body(webapp_stub, highlights_per_hour=7.0), headers=AUTH)
    assert created.status_code == 201
    assert wait_for(lambda: len(seqs(webapp_stub)) >= 1, timeout=60)
    shutdown(app)
    before = seqs(webapp_stub)
    saved = saved_jobs(tmp_path / "data")
    assert [(j["stream_id"], j["source"], j["per_hour"]) for j in saved] == [(1, "demo_channel", 7.0)]
    assert saved[0]["next_seq"] > max(before) and saved[0]["offset_s"] > 0

    app = start_app()  # nothing asks for the job again: the server takes it up by itself
    job = app.test_client().get("/api/v1/jobs/1", headers=AUTH).get_json()
    assert job["source"] == "demo_channel" and job["highlights_per_hour"] == 7.0
    resumed_at = saved[0]["next_seq"]
    assert wait_for(lambda: any(seq >= resumed_at for seq in seqs(webapp_stub)), timeout=60)
    assert app.test_client().get("/api/v1/jobs/1", headers=AUTH).get_json()["segments_done"] >= 1
    after = seqs(webapp_stub)[len(before) :]
    assert after[0] > max(before), "the resumed job continues the sequence numbers"
    assert after == sorted(set(after))
    offsets = [s["offset_s"] for body in webapp_stub.posted("segments") for s in body["segments"]]
    assert offsets == sorted(offsets), "and the stream offsets"


@pytest.mark.timeout(60)
def test_a_deleted_job_is_not_resumed(start_app, webapp_stub, tmp_path):
    app = start_app()
    client = app.test_client()
    assert client.post("/api/v1/jobs", json=job_body(webapp_stub), headers=AUTH).status_code == 201
    assert saved_jobs(tmp_path / "data") != []
    assert client.delete("/api/v1/jobs/1", headers=AUTH).status_code == 204
    assert saved_jobs(tmp_path / "data") == []
    shutdown(app)

    app = start_app()
    assert app.test_client().get("/api/v1/jobs", headers=AUTH).get_json() == {"jobs": []}


@pytest.mark.parametrize(
    "content",
    [
        pytest.param('{"version": 1, "jobs": [{"stream_id": 1', id="cut-short"),
        pytest.param('{"version": 1, "jobs": [{"stream_id": 1}]}', id="entry-missing-fields"),
        pytest.param("[1, 2, 3]", id="wrong-shape"),
    ],
)
def test_a_corrupt_jobs_file_is_moved_aside_and_the_server_starts(start_app, tmp_path, content):
    data = tmp_path / "data"
    data.mkdir()
    (data / "jobs.json").write_text(content)
    app = start_app()
    assert app.test_client().get("/api/v1/jobs", headers=AUTH).get_json() == {"jobs": []}
    aside = list(data.glob("jobs.json.bad-*"))
    assert len(aside) == 1 and aside[0].read_text() == content, "kept for a human to look at"
    assert not (data / "jobs.json").exists()


def test_with_resume_jobs_off_nothing_is_saved_or_resumed(start_app, webapp_stub, tmp_path):
    data = tmp_path / "data"
    request = JobRequest(1, "demo_channel", "http://127.0.0.1:9/x.m3u8", None, webapp_stub.url)
    JobStore(data / "jobs.json").save([SavedJob(request, 5, 20.0)])
    app = start_app(RESUME_JOBS=False)
    client = app.test_client()
    assert client.get("/api/v1/jobs", headers=AUTH).get_json() == {"jobs": []}
    client.post("/api/v1/jobs", json=job_body(webapp_stub, stream_id=2), headers=AUTH)
    assert [j["stream_id"] for j in saved_jobs(data)] == [1], "the file is neither read nor written"
    assert not (data / "outbox").exists()


@pytest.mark.timeout(120)
def test_reports_queued_while_the_webapp_is_down_survive_a_restart_and_arrive_in_order(
    start_app, webapp_stub, tmp_path
):
    webapp_stub.status = 503
    app = start_app()
    app.test_client().post("/api/v1/jobs", json=job_body(webapp_stub), headers=AUTH)
    reporter = app.extensions["reporter"]
    assert wait_for(lambda: reporter.last_error == "webapp answered 503")
    outbox = tmp_path / "data" / "outbox"
    journaled = lambda: [json.loads(p.read_text()) for p in sorted(outbox.glob("*.json"))]  # noqa: E731
    assert wait_for(lambda: any(m["url"].endswith("/segments") for m in journaled()), timeout=60)
    shutdown(app)
    queued = journaled()
    assert len(queued) == reporter.pending >= 2  # the first status and at least one segment

    webapp_stub.status = 200
    app = start_app()
    assert wait_for(lambda: len(webapp_stub.requests) >= len(queued))
    first = [(path, body) for path, body, _ in webapp_stub.requests[: len(queued)]]
    assert first == [(m["url"][len(webapp_stub.url) :], m["payload"]) for m in queued], "all of them, in order"
    assert wait_for(lambda: app.extensions["reporter"].pending == 0 and not list(outbox.glob("*.json")))


def test_an_unreadable_journal_entry_is_set_aside_and_the_rest_is_sent_in_order(webapp_stub, tmp_path):
    url = webapp_stub.url + "/api/v1/streams/1/segments"
    first = Reporter("secret", journal_dir=tmp_path)
    for n in range(3):
        first.post(1, url, {"n": n})
    first.post(1, url, {"n": "spooled"}, on_done=lambda: None)  # its owner re-posts it: not journaled
    (tmp_path / "000000000001.json").write_text("{cut")

    second = Reporter("secret", min_backoff=0.05, journal_dir=tmp_path)
    second.post(1, url, {"n": 3})
    second.start()
    assert wait_for(lambda: second.pending == 0, timeout=10)
    second.stop()
    assert [body["n"] for body in webapp_stub.posted("segments")] == [0, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["000000000001.bad"]


def test_a_budget_changed_while_running_is_what_the_resumed_job_uses(start_app, webapp_stub, tmp_path):
    app = start_app()
    client = app.test_client()
    client.post("/api/v1/jobs", json=job_body(webapp_stub, source="nobody_here"), headers=AUTH)
    assert client.patch("/api/v1/jobs/1", json={"highlights_per_hour": 4.0}, headers=AUTH).status_code == 200
    assert saved_jobs(tmp_path / "data")[0]["per_hour"] == 4.0
    shutdown(app)
    app = start_app()
    assert app.test_client().get("/api/v1/jobs/1", headers=AUTH).get_json()["highlights_per_hour"] == 4.0


def break_jobs_file(data: Path) -> Path:
    """Make every later write of jobs.json fail the way a full disk does (an OSError from the
    rename), leaving the last good version aside; returns where it is."""
    kept = data / "jobs.json.kept"
    os.replace(data / "jobs.json", kept)
    (data / "jobs.json" / "in-the-way").mkdir(parents=True)
    return kept


@pytest.mark.timeout(180)
def test_segments_cut_while_the_jobs_file_cannot_be_written_are_not_used_so_a_restart_reuses_no_seq(
    start_app, webapp_stub, tmp_path
):
    data = tmp_path / "data"
    app = start_app()
    client = app.test_client()
    client.post("/api/v1/jobs", json=job_body(webapp_stub), headers=AUTH)
    assert wait_for(lambda: len(seqs(webapp_stub)) >= 1, timeout=60)
    saved_next = saved_jobs(data)[0]["next_seq"]
    kept = break_jobs_file(data)
    notice = "segments skipped: cannot save the job's resume point"
    degraded = lambda: client.get("/api/v1/jobs/1", headers=AUTH).get_json()["degraded"]  # noqa: E731
    # Before the fix the job went on reporting seqs the file did not cover.
    assert wait_for(
        lambda: any(notice in d for d in degraded()) or max(seqs(webapp_stub)) >= saved_next + 1, timeout=60
    )
    told = wait_for(lambda: any(notice in d for d in webapp_stub.posted("status")[-1]["degraded"]), timeout=30)
    shutdown(app)
    shutil.rmtree(data / "jobs.json")
    os.replace(kept, data / "jobs.json")  # what a full disk leaves: the last version that was written

    before = seqs(webapp_stub)
    start_app()
    assert wait_for(lambda: len(seqs(webapp_stub)) > len(before) + 1, timeout=60)
    sent = seqs(webapp_stub)
    assert len(sent) == len(set(sent)), f"a seq was sent twice (the webapp overwrote a stored segment): {sent}"
    assert told, "the webapp was told why no segment arrived"


def test_a_job_that_cannot_be_saved_is_refused_with_503_and_not_kept(start_app, webapp_stub, tmp_path):
    client = start_app().test_client()
    (tmp_path / "data" / "jobs.json" / "in-the-way").mkdir(parents=True)  # every write now fails
    response = client.post("/api/v1/jobs", json=job_body(webapp_stub), headers=AUTH)
    assert response.status_code == 503 and "cannot save the job" in response.get_json()["error"]
    assert client.get("/api/v1/jobs", headers=AUTH).get_json() == {"jobs": []}
