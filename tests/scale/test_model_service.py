"""The models as a shared service on a model worker (cluster mode): a stream worker's audio tagging
runs in the model worker's process while it is up, and in-process, without losing a segment, once
it is killed. There is no GPU here: the model worker is a CPU process offering the `models` resource."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from dask_cluster import Cluster, cluster_server
from distributed import Actor, Client, Variable
from server_app import AUTH, job_body
from waiting import wait_for

from panns.model import build
from server.inference import ModelWorker
from server.model_route import ModelRouter
from server.model_service import ModelService, ServiceRecord, record_name


@pytest.fixture
def checkpoint(tmp_path):
    """A tiny random Cnn10 in the official checkpoint format (as tests/server/test_audio_tags.py builds it)."""
    torch.manual_seed(2)
    state = build("Cnn10").state_dict()
    state["fc_audioset.bias"].uniform_(-3, 0)
    path = tmp_path / "Cnn10_random.pth"
    torch.save({"model": state}, path)
    return path


@pytest.fixture
def tagging_settings(cluster_settings, checkpoint) -> dict:
    return {
        **cluster_settings,
        "PANNS_MODEL": "Cnn10",
        "PANNS_CHECKPOINT": str(checkpoint),
        "AUDIO_TAG_CANDIDATES_ONLY": "false",  # every segment is tagged: every one is a model call
        "MODEL_THREADS": "1",
    }


@pytest.fixture
def model_cluster(tmp_path, tagging_settings):
    """A scheduler, a stream worker w1 and a model worker m1 (`--models --streams 0`), each a process."""
    running = Cluster(tmp_path, tagging_settings)
    running.start_scheduler()
    running.start_worker("w1")
    running.start_worker("m1", streams=0, models=True)
    yield running
    running.stop()


@pytest.fixture
def model_app(tmp_path, model_cluster, tagging_settings):
    with cluster_server(tmp_path, model_cluster, tagging_settings, workers=2) as app:
        yield app


def segments(webapp_stub, stream_id: int = 1) -> list[dict]:
    return [
        segment
        for path, body, _ in webapp_stub.requests
        if path == f"/api/v1/streams/{stream_id}/segments"
        for segment in body["segments"]
    ]


def tagged(segment: dict) -> bool:
    return segment["features"].get("audio_tag:Speech") is not None


def job(client) -> dict:
    return client.get("/api/v1/jobs/1", headers=AUTH).get_json()


def service_stats(address: str, model_worker: str) -> dict:
    """What the model worker's ModelService counted, asked through the scheduler as any client can."""
    with Client(address, timeout=10) as dask:
        record = ServiceRecord.decode(Variable(record_name(model_worker), client=dask).get(timeout=10))
        assert record is not None
        return Actor(ModelService, record.address, record.key).stats().result(10)


@pytest.mark.timeout(300)
def test_a_stream_workers_tagging_runs_on_the_model_worker_and_goes_in_process_when_it_is_killed(
    model_app, model_cluster, webapp_stub
):
    client = model_app.test_client()
    health = client.get("/healthz").get_json()
    assert [w["name"] for w in health["model_workers"]] == ["m1"], health
    model_worker = health["model_workers"][0]["address"]
    model_pid = model_cluster.workers["m1"].pid

    assert client.post("/api/v1/jobs", json=job_body(webapp_stub), headers=AUTH).status_code == 201
    assert wait_for(lambda: sum(map(tagged, segments(webapp_stub))) >= 2, timeout=150, step=0.5), (
        job(client),
        model_cluster.log("w1"),
        model_cluster.log("m1"),
    )
    status = job(client)
    assert status["worker"]["name"] == "w1", "the stream runs on the stream worker"
    assert status["models"] == {"where": "service", "worker": "m1", "address": model_worker, "pid": model_pid}
    stats = service_stats(model_cluster.address, model_worker)
    assert stats["pid"] == model_pid, "the service runs in the model worker's process"
    assert stats["calls"]["w1"]["audio_tag"] >= 2, stats
    assert stats["batches"] >= 1

    before = [s["seq"] for s in segments(webapp_stub)]
    os.kill(model_pid, signal.SIGKILL)
    assert wait_for(lambda: sum(s["seq"] > max(before) for s in segments(webapp_stub)) >= 3, timeout=90, step=0.5), (
        job(client),
        model_cluster.log("w1"),
    )
    after = [s for s in segments(webapp_stub) if s["seq"] > max(before)]
    assert all(map(tagged, after)), "after the kill every segment is still tagged (in-process)"
    numbers = [s["seq"] for s in segments(webapp_stub)]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), f"no segment lost or repeated: {numbers}"
    status = wait_for(lambda: (j := job(client))["models"]["where"] == "in-process" and j, timeout=30)
    assert status, job(client)
    assert status["models"]["lost"].startswith("m1: ")
    assert any(d.startswith("model service lost (m1: ") for d in status["degraded"]), status["degraded"]
    assert status["worker"]["name"] == "w1", "the stream itself never moved"
    assert wait_for(lambda: client.get("/healthz").get_json()["model_workers"] == [], timeout=30)


def test_a_router_outside_a_cluster_runs_every_call_in_process():
    router = ModelRouter(window_s=0.0)
    try:
        router.register("double", lambda items: [2 * i for i in items])
        assert router.run("double", 21, timeout=10) == 42
        assert router.remote_calls == 0 and router.batches_run == 1
        assert router.status() == {"where": "in-process", "lost": None} and router.notice() is None
    finally:
        router.stop()


def test_one_box_keeps_its_plain_in_process_model_worker(tmp_path, hls_server):
    from server_app import fast_config

    from server.app import default_config
    from server.runtime import build_runtime

    config = {**default_config(), **fast_config(tmp_path, hls_server), "PANNS_CHECKPOINT": tmp_path / "none.pth"}
    runtime = build_runtime(config)
    try:
        assert type(runtime.model_worker) is ModelWorker, "no cluster: no routing, exactly as before"
    finally:
        runtime.stop()
