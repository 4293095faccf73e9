"""The live model: a new file is picked up without a restart, a bad one is refused and the old
model stays; a job's highlight budget moves with PATCH /api/v1/jobs/<id>."""

from __future__ import annotations

import dataclasses

import pytest
from server_app import AUTH, job_body
from waiting import wait_for

from metamodel import MetamodelError, load_metamodel, save_metamodel
from server.model_store import ModelStore


def model_with(per_hour: float):
    return dataclasses.replace(load_metamodel(), per_hour=per_hour, provenance={"trained_at": f"t={per_hour}"})


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.json"
    save_metamodel(model_with(3.0), path)
    return path


def test_a_new_model_file_is_loaded_on_the_next_check(model_file):
    store = ModelStore(model_file, check_s=0)
    assert store().per_hour == 3.0
    save_metamodel(model_with(4.2), model_file)
    assert store().per_hour == 4.2
    assert store.status()["reloads"] == 1 and store.status()["error"] is None


def test_a_bad_model_file_is_refused_and_the_old_model_stays_until_a_good_one_arrives(model_file):
    store = ModelStore(model_file, check_s=0)
    data = model_with(0.5).to_dict()
    data["coef"][0] += 1  # tampered: the checksum no longer matches
    model_file.write_text(__import__("json").dumps(data))
    assert store().per_hour == 3.0
    assert "new model refused" in store.status()["error"] and "checksum" in store.status()["error"]
    model_file.write_text("{half a file")
    assert store().per_hour == 3.0 and "not valid JSON" in store.status()["error"]
    save_metamodel(model_with(9.0), model_file)
    assert store().per_hour == 9.0 and store.status()["error"] is None


def test_until_a_model_is_written_where_it_is_configured_the_shipped_default_scores(tmp_path):
    path = tmp_path / "trained" / "model.json"
    store = ModelStore(path, check_s=0)
    assert store().per_hour == load_metamodel().per_hour
    assert store.status()["serving"].endswith("default_model.json") and store.status()["error"] is None
    path.parent.mkdir()
    save_metamodel(model_with(4.2), path)
    assert store().per_hour == 4.2
    assert store.status()["serving"] == str(path)


def test_the_file_is_looked_at_no_more_often_than_the_check_interval(model_file):
    now = [100.0]
    store = ModelStore(model_file, check_s=5, clock=lambda: now[0])
    save_metamodel(model_with(4.2), model_file)
    now[0] += 4
    assert store().per_hour == 3.0
    now[0] += 1
    assert store().per_hour == 4.2


def test_a_bad_model_file_at_start_up_stops_the_server(tmp_path):
    path = tmp_path / "model.json"
    path.write_text('{"schema_version": 7}')
    with pytest.raises(MetamodelError, match="schema_version"):
        ModelStore(path)


@pytest.fixture
def app(make_app, model_file):
    return make_app(
        SEGMENT_SECONDS=2.0, CHAT_LAG_S=2.0, CHAT_WINDOW_S=2.0, METAMODEL_PATH=model_file, METAMODEL_CHECK_S=0.0
    )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"highlights_per_hour": 0}, id="zero"),
        pytest.param({"highlights_per_hour": 61}, id="too-many"),
        pytest.param({"highlights_per_hour": "3.0"}, id="text"),
        pytest.param({"highlights_per_hour": True}, id="boolean"),
        pytest.param({}, id="missing"),
        pytest.param({"highlights_per_hour": 3.0, "source": "x"}, id="other-fields"),
    ],
)
def test_a_bad_budget_is_a_400(client, body):
    response = client.patch("/api/v1/jobs/1", json=body, headers=AUTH)
    assert response.status_code == 400 and "highlights_per_hour" in response.get_json()["error"]


def test_patching_needs_the_token_and_an_existing_job(client):
    assert client.patch("/api/v1/jobs/1", json={"highlights_per_hour": 3.0}).status_code == 401
    assert client.patch("/api/v1/jobs/1", json={"highlights_per_hour": 3.0}, headers=AUTH).status_code == 404


def test_a_job_started_with_a_budget_uses_it_instead_of_the_models(client, webapp_stub):
    job = client.post("/api/v1/jobs", json=job_body(webapp_stub, highlights_per_hour=7.7), headers=AUTH).get_json()
    assert job["highlights_per_hour"] == 7.7
    refused = client.post(
        "/api/v1/jobs", json=job_body(webapp_stub, stream_id=2, highlights_per_hour=100), headers=AUTH
    )
    assert refused.status_code == 400


@pytest.mark.timeout(120)
def test_a_running_job_follows_a_new_model_and_the_users_budget_without_a_restart(client, webapp_stub, model_file):
    client.post("/api/v1/jobs", json=job_body(webapp_stub), headers=AUTH)
    budget = lambda: client.get("/api/v1/jobs/1", headers=AUTH).get_json()["highlights_per_hour"]  # noqa: E731
    segments = lambda: len(webapp_stub.posted("segments"))  # noqa: E731
    assert wait_for(lambda: segments() > 0 and budget() == 3.0)

    save_metamodel(model_with(5.5), model_file)  # retrained: the job takes the new model's budget
    assert wait_for(lambda: budget() == 5.5)
    assert client.get("/api/v1/model", headers=AUTH).get_json()["trained_at"] == "t=5.5"

    model_file.write_text('{"schema_version": 2, "features": ["banana"]}')  # a bad file: refused
    status = client.get("/api/v1/model", headers=AUTH).get_json()
    assert "unknown feature" in status["error"] and status["highlights_per_hour"] == 5.5
    assert "new model refused" in client.get("/healthz").get_json()["model_error"]
    count = segments()
    assert wait_for(lambda: segments() > count)
    assert budget() == 5.5, "the old model keeps scoring"
    assert wait_for(
        lambda: any(
            "new model refused" in notice for status in webapp_stub.posted("status") for notice in status["degraded"]
        )
    ), "the stream page hears of the refusal"

    patched = client.patch("/api/v1/jobs/1", json={"highlights_per_hour": 2.0}, headers=AUTH)
    assert patched.status_code == 200 and patched.get_json()["highlights_per_hour"] == 2.0
    client.patch("/api/v1/jobs/1", json={"highlights_per_hour": None}, headers=AUTH)  # back to the model's
    assert wait_for(lambda: budget() == 5.5)
