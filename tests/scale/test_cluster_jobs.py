"""Cluster mode on a real Dask cluster on loopback: stream jobs run on worker processes, a stream
whose worker is killed goes on on the other one where it was, and the trash button reaches a
stream wherever it runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from dask_cluster import ROOT, as_env
from distributed import Client
from processes import alive, children_named
from server_app import AUTH, fast_config, job_body
from waiting import wait_for

from appconfig import ImproperlyConfigured
from server.cluster_state import Records


def seqs(webapp_stub, stream_id: int) -> list[int]:
    return [
        segment["seq"]
        for path, body, _ in webapp_stub.requests
        if path == f"/api/v1/streams/{stream_id}/segments"
        for segment in body["segments"]
    ]


def jobs_by_id(client) -> dict[int, dict]:
    return {job["stream_id"]: job for job in client.get("/api/v1/jobs", headers=AUTH).get_json()["jobs"]}


def running_on_a_worker(client, stream_id: int) -> dict | None:
    job = jobs_by_id(client).get(stream_id)
    return job["worker"] if job and job["worker"] and job["state"] == "live" else None


def start_stream(client, webapp_stub, stream_id: int = 1, segments: int = 1) -> dict:
    """POST the demo channel as `stream_id`; once `segments` of it reached the webapp, the worker running it."""
    created = client.post("/api/v1/jobs", json=job_body(webapp_stub, stream_id=stream_id), headers=AUTH)
    assert created.status_code == 201, created.get_json()
    assert wait_for(lambda: len(seqs(webapp_stub, stream_id)) >= segments, timeout=120, step=0.5), jobs_by_id(client)
    worker = wait_for(lambda: running_on_a_worker(client, stream_id), timeout=30)
    assert worker is not None, jobs_by_id(client)
    return worker


@pytest.mark.timeout(240)
def test_a_stream_whose_worker_is_killed_goes_on_on_the_other_worker_with_continuing_segment_numbers(
    cluster_app, webapp_stub
):
    client = cluster_app.test_client()
    for stream_id in (1, 2):
        created = client.post("/api/v1/jobs", json=job_body(webapp_stub, stream_id=stream_id), headers=AUTH)
        assert created.status_code == 201, created.get_json()
    for stream_id in (1, 2):
        assert wait_for(lambda s=stream_id: len(seqs(webapp_stub, s)) >= 2, timeout=120, step=0.5), jobs_by_id(client)
        assert wait_for(lambda s=stream_id: running_on_a_worker(client, s), timeout=30), jobs_by_id(client)
    jobs = jobs_by_id(client)
    health = client.get("/healthz").get_json()
    assert health["executor"] == "dask" and health["workers"] == 2
    assert health["streams"] == {str(s): jobs[s]["worker"] for s in (1, 2)}, "healthz names each stream's worker"
    victim = jobs[1]["worker"]
    assert victim["name"] in ("w1", "w2") and victim["address"].startswith("tcp://127.0.0.1:")
    moved = [s for s in (1, 2) if jobs[s]["worker"]["pid"] == victim["pid"]]  # stream 1, maybe stream 2 too
    cutters = children_named(victim["pid"], "ffmpeg")
    assert cutters, "the stream's ffmpeg runs in the worker process"

    before = {s: seqs(webapp_stub, s) for s in (1, 2)}
    os.kill(victim["pid"], signal.SIGKILL)
    killed_at = time.monotonic()

    for stream_id in moved:
        worker = wait_for(
            lambda s=stream_id: (w := running_on_a_worker(client, s)) and w["pid"] != victim["pid"] and w,
            timeout=60,
            step=0.2,
        )
        assert worker, jobs_by_id(client)
        assert time.monotonic() - killed_at < 30, "resumed on another worker within 30 s"
    assert wait_for(lambda: not any(alive(pid) for pid in cutters), timeout=15), "no ffmpeg of the dead worker lives on"
    for stream_id in (1, 2):
        last = max(before[stream_id])
        assert wait_for(lambda s=stream_id, n=last: sum(q > n for q in seqs(webapp_stub, s)) >= 2, timeout=90, step=0.5)

    for stream_id in (1, 2):
        numbers = seqs(webapp_stub, stream_id)
        assert len(numbers) == len(set(numbers)), f"stream {stream_id}: no segment number is used twice"
        assert numbers == sorted(numbers), f"stream {stream_id}: they go on from where they were"
        gaps = [b - a for a, b in zip(numbers, numbers[1:], strict=False)]
        assert max(gaps) <= 4, f"stream {stream_id}: at most a few segments lost across the move: {numbers}"
    keys = [body["key"] for path, body, _ in webapp_stub.requests if path.endswith("/highlights")]
    assert len(keys) == len(set(keys)), "no highlight is published twice"
    survivor = running_on_a_worker(client, 1)
    assert survivor is not None and survivor["pid"] != victim["pid"]


@pytest.mark.timeout(180)
def test_a_budget_change_reaches_the_worker_and_deleting_the_stream_stops_it_there(
    cluster_app, cluster, webapp_stub, tmp_path
):
    client = cluster_app.test_client()
    worker = start_stream(client, webapp_stub)
    cutters = children_named(worker["pid"], "ffmpeg")
    assert cutters
    ring = tmp_path / worker["name"] / "segments" / "1"
    assert ring.is_dir()

    changed = client.patch("/api/v1/jobs/1", json={"highlights_per_hour": 4.0}, headers=AUTH)
    assert changed.status_code == 200 and changed.get_json()["highlights_per_hour"] == 4.0
    with Client(cluster.address, timeout=10, set_as_default=False) as dask:  # what the worker's job uses
        records = Records(dask)
        assert wait_for(lambda: records.state(1).job["highlights_per_hour"] == 4.0, timeout=30), records.state(1)
    assert json.loads((tmp_path / "server-data" / "jobs.json").read_text())["jobs"][0]["per_hour"] == 4.0

    assert client.delete("/api/v1/jobs/1", headers=AUTH).status_code == 204  # returns once the worker stopped it
    assert not any(alive(pid) for pid in cutters), "its ffmpeg is gone"
    assert not ring.exists(), "and its ring buffer"
    assert alive(worker["pid"]), "the worker itself runs on"
    assert jobs_by_id(client) == {}
    assert client.get("/healthz").get_json()["streams"] == {}
    sent = len(seqs(webapp_stub, 1))
    time.sleep(6)  # longer than a segment: nothing more arrives
    assert len(seqs(webapp_stub, 1)) == sent


@pytest.mark.timeout(180)
def test_a_stream_the_webapp_deleted_ends_on_its_worker_and_leaves_the_servers_jobs(cluster_app, webapp_stub):
    client = cluster_app.test_client()
    worker = start_stream(client, webapp_stub)
    cutters = children_named(worker["pid"], "ffmpeg")
    webapp_stub.status_for["/api/v1/streams/1/"] = 404  # the API's own "no such stream": deleted there
    assert wait_for(lambda: jobs_by_id(client) == {}, timeout=60, step=0.5), jobs_by_id(client)
    assert wait_for(lambda: not any(alive(pid) for pid in cutters), timeout=15)
    assert cluster_app.extensions["janitor"].scheduled, "its clips are scheduled for deletion"


@pytest.mark.timeout(240)
def test_after_a_scheduler_restart_the_server_submits_its_jobs_again_and_they_go_on(cluster_app, cluster, webapp_stub):
    client = cluster_app.test_client()
    start_stream(client, webapp_stub, segments=2)

    cluster.kill_scheduler()  # it forgets every task and record
    assert wait_for(lambda: client.get("/healthz").get_json()["scheduler_connected"] is False, timeout=30)
    before = seqs(webapp_stub, 1)
    cluster.start_scheduler()  # same address, nothing in it: the workers join it again, the server re-submits
    cluster.wait_ready(lambda: client.get("/healthz").get_json(), workers=2)
    assert wait_for(lambda: sum(q > max(before) for q in seqs(webapp_stub, 1)) >= 2, timeout=120, step=0.5), (
        jobs_by_id(client),
        cluster.log("w1"),
    )
    numbers = seqs(webapp_stub, 1)
    assert len(numbers) == len(set(numbers)) and numbers == sorted(numbers), numbers
    assert wait_for(lambda: running_on_a_worker(client, 1), timeout=30)


def test_without_a_scheduler_the_server_starts_takes_jobs_and_says_what_it_waits_for(cluster_settings, tmp_path):
    from dask_cluster import free_port

    from server.app import create_app, shutdown

    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    app = create_app({**cluster_settings, "DATA_DIR": tmp_path / "d", "EXECUTOR": "dask", "DASK_SCHEDULER": address})
    try:
        tagger = app.extensions["audio_tagger"]
        assert tagger.notice == "audio tagging: on the stream workers", "the server loads no model of its own"
        client = app.test_client()
        body = {"stream_id": 1, "source": "demo_channel", "chat_channel": None, "callback_base": "http://127.0.0.1:9"}
        created = client.post("/api/v1/jobs", json={**body, "highlights_per_hour": 5.0}, headers=AUTH)
        assert created.status_code == 201 and created.get_json()["state"] == "starting"
        assert created.get_json()["highlights_per_hour"] == 5.0
        assert created.get_json()["worker"] is None
        health = wait_for(lambda: (h := client.get("/healthz").get_json())["scheduler_error"] and h, timeout=30)
        assert health["scheduler_connected"] is False and address in health["scheduler_error"]
        assert json.loads((tmp_path / "d" / "jobs.json").read_text())["jobs"][0]["stream_id"] == 1, "kept for later"
    finally:
        shutdown(app)


def test_cluster_mode_refuses_to_start_with_local_storage_and_says_why(tmp_path, hls_server):
    from server.app import create_app

    with pytest.raises(ImproperlyConfigured, match='EXECUTOR="dask" needs STORAGE_BACKEND="gcs".*worker machines'):
        create_app(fast_config(tmp_path, hls_server, EXECUTOR="dask"))


def test_an_unknown_executor_is_refused_in_words(tmp_path, hls_server):
    from server.app import create_app

    with pytest.raises(ImproperlyConfigured, match="EXECUTOR='celery': must be one of threads, dask"):
        create_app(fast_config(tmp_path, hls_server, EXECUTOR="celery"))


def test_a_worker_with_local_storage_refuses_to_start(tmp_path, hls_server):
    settings = fast_config(tmp_path, hls_server)
    settings.pop("DATA_DIR"), settings.pop("MEDIA_ROOT")
    done = subprocess.run(
        [sys.executable, "-m", "server.worker", "--scheduler", "tcp://127.0.0.1:9", "--data-dir", str(tmp_path / "w")],
        cwd=ROOT,
        env={**os.environ, **as_env(settings)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert 'needs STORAGE_BACKEND="gcs"' in done.stderr


def test_two_workers_on_one_data_folder_are_refused_in_words(tmp_path):
    from server.worker import lock_folder

    held = lock_folder(tmp_path / "w")
    try:
        with pytest.raises(SystemExit, match="another worker uses .*: give each worker its own --data-dir"):
            lock_folder(tmp_path / "w")
    finally:
        held.close()
    lock_folder(tmp_path / "w").close()  # free again once the first one is gone
