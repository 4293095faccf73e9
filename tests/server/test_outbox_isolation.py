"""One stream's undeliverable report holds back no other stream's: a queue per stream, a poison
message set aside (with its reason in the job's status), a DELETE purges, and only the webapp
API's own 404 means "stream deleted"."""

from __future__ import annotations

import json

import pytest
from server_app import AUTH, job_body
from waiting import wait_for

from server.demo.stack import free_port
from server.reporter import Reporter


def journal(outbox) -> list[dict]:
    """The messages in the journal now: stream 2's are delivered (and their files deleted) while we read."""
    messages = []
    for path in outbox.glob("*.json"):
        try:
            messages.append(json.loads(path.read_text()))
        except FileNotFoundError:
            continue
    return messages


def segments_of(webapp_stub, stream_id: int) -> list[int]:
    return [body["n"] for path, body, _ in webapp_stub.requests if path == f"/api/v1/streams/{stream_id}/segments"]


def test_a_callback_on_a_closed_port_holds_back_no_other_stream_even_after_a_restart(webapp_stub, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/api/v1/streams/1/segments"
    first = Reporter("t", min_backoff=0.05, max_backoff=0.2, journal_dir=tmp_path / "outbox")
    for n in range(3):
        first.post(1, dead, {"n": n})
    for n in range(50):
        first.post(2, webapp_stub.url + "/api/v1/streams/2/segments", {"n": n})
    # A SIGKILL before anything was sent: only the journal is left.
    second = Reporter("t", min_backoff=0.05, max_backoff=0.2, journal_dir=tmp_path / "outbox")
    second.start()
    assert wait_for(lambda: len(segments_of(webapp_stub, 2)) == 50, timeout=20)
    second.stop()
    assert segments_of(webapp_stub, 2) == list(range(50)), "all of them, in order"
    assert second.pending_for(1) == 3 and second.parked == 0, "unreachable is retried, never set aside"


def test_a_payload_the_webapp_always_fails_is_set_aside_and_the_stream_goes_on(webapp_stub, tmp_path):
    webapp_stub.status_for = {"/api/v1/streams/1/segments": 500}
    outbox = tmp_path / "outbox"
    reporter = Reporter("t", min_backoff=0.02, max_backoff=0.05, journal_dir=outbox, max_tries=3)
    reporter.post(1, webapp_stub.url + "/api/v1/streams/1/segments", {"n": 0})  # the poison
    reporter.post(1, webapp_stub.url + "/api/v1/streams/1/status", {"state": "live"})
    for n in range(3):
        reporter.post(2, webapp_stub.url + "/api/v1/streams/2/segments", {"n": n})
    reporter.start()
    assert wait_for(lambda: webapp_stub.posted("status"), timeout=20), "the stream's next report went on"
    assert wait_for(lambda: reporter.pending == 0)
    reporter.stop()
    assert segments_of(webapp_stub, 2) == [0, 1, 2]
    note = reporter.parked_note(1)
    assert note and "webapp answered 500" in note and reporter.parked_note(2) is None
    parked = [json.loads(p.read_text()) for p in (outbox / "parked").glob("*.json")]
    assert [(m["stream_id"], m["payload"], m["reason"].startswith("webapp answered 500")) for m in parked] == [
        (1, {"n": 0}, True)
    ], "kept on disk with its reason, for a human"
    again = Reporter("t", journal_dir=outbox)
    assert again.pending == 0 and again.parked_note(1) == note, "not re-sent after a restart, still reported"
    assert again.forget(1) == 0 and again.parked_note(1) is None and not list((outbox / "parked").glob("*.json"))


def test_a_webapp_failing_every_report_sets_nothing_aside_and_gets_all_in_order_when_back(webapp_stub):
    webapp_stub.status = 500
    reporter = Reporter("t", min_backoff=0.02, max_backoff=0.05, max_tries=2)
    for n in range(4):
        for stream_id in (1, 2):
            reporter.post(stream_id, f"{webapp_stub.url}/api/v1/streams/{stream_id}/segments", {"n": n})
    reporter.start()
    assert wait_for(lambda: reporter.last_error == "webapp answered 500")
    assert not wait_for(lambda: reporter.parked, timeout=1.0)
    webapp_stub.status = 200
    assert wait_for(lambda: reporter.pending == 0)
    reporter.stop()
    assert segments_of(webapp_stub, 1) == segments_of(webapp_stub, 2) == [0, 1, 2, 3]


def test_an_html_404_from_a_wrong_callback_prefix_is_retried_and_deletes_nothing(webapp_stub):
    gone = []
    reporter = Reporter("t", min_backoff=0.02, max_backoff=0.05, on_gone=gone.append)
    reporter.post(1, webapp_stub.url + "/wrong-prefix/api/v1/streams/1/status", {"state": "live"})
    reporter.start()
    assert wait_for(lambda: reporter.last_error == "webapp answered 404")
    assert not wait_for(lambda: gone, timeout=0.5)
    reporter.stop()
    assert reporter.pending == 1 and reporter.parked == 0


# --- through the real processing server ---------------------------------------------------------


@pytest.fixture
def client(make_app):
    return make_app(REPORT_RETRY_MAX_S=0.2, REPORT_MAX_TRIES=2).test_client()


@pytest.mark.timeout(180)
def test_a_job_reporting_to_a_closed_port_does_not_hold_back_a_healthy_stream_and_delete_purges_it(
    make_app, webapp_stub, tmp_path
):
    app = make_app(REPORT_RETRY_MAX_S=0.2)
    client = app.test_client()
    closed = f"http://127.0.0.1:{free_port()}"
    assert (
        client.post("/api/v1/jobs", json=job_body(webapp_stub, callback_base=closed), headers=AUTH).status_code == 201
    )
    assert client.post("/api/v1/jobs", json=job_body(webapp_stub, stream_id=2), headers=AUTH).status_code == 201
    reporter = app.extensions["reporter"]
    segments = lambda: [b for p, b, _ in webapp_stub.requests if p == "/api/v1/streams/2/segments"]  # noqa: E731
    assert wait_for(lambda: len(segments()) >= 2, timeout=90), "stream 2's segments arrive"
    assert reporter.pending_for(1) >= 2, "stream 1's wait in its own queue"
    outbox = tmp_path / "data" / "outbox"
    stream_1_files = lambda: [m for m in journal(outbox) if m["stream_id"] == 1]  # noqa: E731
    assert stream_1_files()
    assert client.delete("/api/v1/jobs/1", headers=AUTH).status_code == 204
    assert reporter.pending_for(1) == 0 and stream_1_files() == [], "a DELETE purges its queue and journal"


@pytest.mark.timeout(180)
def test_a_poison_report_is_set_aside_and_its_reason_shows_in_the_job_status(client, webapp_stub):
    webapp_stub.status_for = {"/api/v1/streams/1/status": 500}
    client.post("/api/v1/jobs", json=job_body(webapp_stub), headers=AUTH)
    client.post("/api/v1/jobs", json=job_body(webapp_stub, stream_id=2), headers=AUTH)
    degraded = lambda: client.get("/api/v1/jobs/1", headers=AUTH).get_json()["degraded"]  # noqa: E731
    assert wait_for(lambda: any("set aside" in d and "webapp answered 500" in d for d in degraded()), timeout=90)
    assert wait_for(lambda: any(p == "/api/v1/streams/1/segments" for p, _, _ in webapp_stub.requests), timeout=90), (
        "stream 1's later reports go on"
    )


@pytest.mark.timeout(120)
def test_an_html_404_does_not_stop_the_job_or_schedule_its_clips_for_deletion(make_app, webapp_stub):
    app = make_app(REPORT_RETRY_MAX_S=0.2)
    client = app.test_client()
    client.post("/api/v1/jobs", json=job_body(webapp_stub, callback_base=webapp_stub.url + "/old-prefix"), headers=AUTH)
    assert wait_for(lambda: app.extensions["reporter"].last_error == "webapp answered 404", timeout=30)
    assert not wait_for(lambda: app.extensions["janitor"].scheduled, timeout=2)
    assert client.get("/api/v1/jobs/1", headers=AUTH).status_code == 200


@pytest.mark.timeout(120)
def test_the_apis_own_404_still_stops_the_job(make_app, webapp_stub):
    webapp_stub.status = 404
    app = make_app(REPORT_RETRY_MAX_S=0.2)
    client = app.test_client()
    client.post("/api/v1/jobs", json=job_body(webapp_stub), headers=AUTH)
    assert wait_for(lambda: client.get("/api/v1/jobs/1", headers=AUTH).status_code == 404, timeout=30)
    assert 1 in app.extensions["janitor"].scheduled
