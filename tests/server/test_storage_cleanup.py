"""Storage that never grows without bound: a deleted stream's clips go after the grace period
(even across a restart), and old clips go when a retention is set."""

from __future__ import annotations

import time

import pytest
import requests
from server_app import AUTH, TOKEN
from storage_backends import write
from waiting import wait_for

from server.app import create_app, shutdown
from server.cleanup import StorageJanitor, remove_stale_ring_buffers
from server.storage import LocalStorage

MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40


def status(url: str) -> int:
    return requests.get(url, timeout=10).status_code


def test_a_deleted_streams_clips_stay_through_the_grace_period_then_go(backend, tmp_path):
    storage = backend.make()
    source = write(tmp_path / "f", MP4)
    doomed, other = storage.put(source, "12/a.mp4", "video/mp4"), storage.put(source, "13/a.mp4", "video/mp4")
    janitor = StorageJanitor(storage, tmp_path / "deletes.json", grace_s=60)
    due = janitor.schedule(12)
    assert due == pytest.approx(time.time() + 60, abs=2)
    janitor.run_once(now=due - 1)
    assert status(doomed) == 200, "still within the grace period"
    janitor.run_once(now=due + 1)
    assert (status(doomed), status(other)) == (404, 200)
    assert janitor.scheduled == {} and janitor.deleted == 1


def test_a_scheduled_deletion_survives_a_restart(tmp_path):
    storage = LocalStorage(tmp_path / "media", "http://x/media")
    storage.put(write(tmp_path / "f", MP4), "12/a.mp4", "video/mp4")
    due = StorageJanitor(storage, tmp_path / "deletes.json", grace_s=60).schedule(12)
    after_restart = StorageJanitor(storage, tmp_path / "deletes.json", grace_s=60)
    assert after_restart.scheduled == {12: due}
    after_restart.run_once(now=due + 1)
    assert not (tmp_path / "media" / "12").exists()


def test_a_deletion_that_fails_stays_scheduled_and_is_retried(backend, tmp_path):
    storage = backend.make()
    janitor = StorageJanitor(storage, tmp_path / "deletes.json", grace_s=0)
    due = janitor.schedule(12)
    backend.break_()
    janitor.run_once(now=due + 1)
    assert 12 in janitor.scheduled and "stream 12" in janitor.last_error
    backend.repair()
    url = storage.put(write(tmp_path / "f", MP4), "12/a.mp4", "video/mp4")
    janitor.run_once(now=due + 2)
    assert status(url) == 404 and janitor.scheduled == {}


def test_tracking_a_stream_again_cancels_its_deletion(tmp_path):
    janitor = StorageJanitor(LocalStorage(tmp_path / "media", "http://x/media"), tmp_path / "deletes.json")
    janitor.schedule(12)
    janitor.cancel(12)
    assert janitor.scheduled == {}
    assert StorageJanitor(janitor.storage, tmp_path / "deletes.json").scheduled == {}


def test_with_a_retention_clips_older_than_it_are_deleted(tmp_path):
    storage = LocalStorage(tmp_path / "media", "http://x/media")
    storage.put(write(tmp_path / "f", MP4), "12/a.mp4", "video/mp4")
    janitor = StorageJanitor(storage, tmp_path / "deletes.json", retention_days=1)
    janitor.run_once(now=time.time() + 3600)
    assert (tmp_path / "media" / "12" / "a.mp4").exists()
    janitor = StorageJanitor(storage, tmp_path / "deletes.json", retention_days=1)
    janitor.run_once(now=time.time() + 2 * 86400)
    assert not (tmp_path / "media" / "12").exists()


@pytest.mark.parametrize(
    "kwargs, error",
    [
        pytest.param({"grace_s": -1}, "STORAGE_DELETE_GRACE_S", id="negative-grace"),
        pytest.param({"retention_days": 0}, "STORAGE_RETENTION_DAYS", id="zero-retention"),
    ],
)
def test_bad_cleanup_settings_are_refused_in_words(tmp_path, kwargs, error):
    with pytest.raises(ValueError, match=error):
        StorageJanitor(LocalStorage(tmp_path, "http://x"), tmp_path / "deletes.json", **kwargs)


def test_a_garbled_schedule_file_stops_start_up_in_words(tmp_path):
    (tmp_path / "deletes.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a deletion schedule"):
        StorageJanitor(LocalStorage(tmp_path, "http://x"), tmp_path / "deletes.json")


def make_app(tmp_path, **config):
    return create_app(
        {
            "SERVER_API_TOKEN": TOKEN,
            "INGEST_API_TOKEN": TOKEN,
            "DATA_DIR": tmp_path / "data",
            "MEDIA_ROOT": tmp_path / "media",
            **config,
        }
    )


def test_deleting_a_job_through_the_api_deletes_its_clips_after_the_grace_period(tmp_path):
    write(tmp_path / "media" / "12" / "0001-0002.mp4", MP4)
    app = make_app(tmp_path, STORAGE_DELETE_GRACE_S=0)
    try:
        assert app.test_client().delete("/api/v1/jobs/12", headers=AUTH).status_code == 204
        assert wait_for(lambda: not (tmp_path / "media" / "12").exists()), "the janitor thread deleted the clips"
    finally:
        shutdown(app)


def test_a_deletion_scheduled_through_the_api_is_still_due_after_a_server_restart(tmp_path):
    write(tmp_path / "media" / "12" / "0001-0002.mp4", MP4)
    app = make_app(tmp_path, STORAGE_DELETE_GRACE_S=3600)
    app.test_client().delete("/api/v1/jobs/12", headers=AUTH)
    shutdown(app)
    app = make_app(tmp_path, STORAGE_DELETE_GRACE_S=3600)
    try:
        health = app.test_client().get("/healthz").get_json()
        assert health["deletions_scheduled"] == 1 and health["spool_pending"] == 0
        assert (tmp_path / "media" / "12" / "0001-0002.mp4").exists(), "not before the grace period is over"
    finally:
        shutdown(app)


def test_ring_buffers_left_by_a_crash_are_removed_at_start(tmp_path):
    write(tmp_path / "segments" / "12" / "seg_00001.ts", b"ts")
    assert remove_stale_ring_buffers(tmp_path) == 1
    assert not (tmp_path / "segments" / "12").exists()
