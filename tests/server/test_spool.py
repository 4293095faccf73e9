"""The upload spool: a highlight reaches the webapp only with URLs that work, and nothing is lost
while storage is down or the server restarts. Run against both storage backends."""

from __future__ import annotations

import json
import time

import pytest
import requests
from storage_backends import write
from waiting import wait_for

from server.reporter import Reporter
from server.spool import Spool, Upload, Uploader

MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40
JPG = b"\xff\xd8\xff\xe0" + b"thumbnail" * 100


class Server:
    """The spool's side of one server process: an outbox and an uploader over one spool folder."""

    def __init__(self, spool_dir, storage, max_items=1000):
        self.reporter = Reporter("ingest-token", min_backoff=0.05, max_backoff=0.2)
        self.uploader = Uploader(Spool(spool_dir, max_items), storage, self.reporter, min_backoff=0.05, max_backoff=0.2)
        self.reporter.start()
        self.uploader.start()

    def highlight(self, webapp, stream_id=12, key="0007-0009"):
        with self.uploader.staging() as folder:
            self.uploader.submit(
                stream_id,
                f"{webapp.url}/api/v1/streams/{stream_id}/highlights",
                {"key": f"{stream_id}-{key}", "score": 0.9},
                [
                    Upload(write(folder / "clip.mp4", MP4), f"{stream_id}/{key}.mp4", "video/mp4", "clip_url"),
                    Upload(write(folder / "thumb.jpg", JPG), f"{stream_id}/{key}.jpg", "image/jpeg", "thumbnail_url"),
                ],
            )

    def exit(self):
        self.uploader.stop()
        self.reporter.stop()


@pytest.fixture
def servers():
    started = []

    def start(*args, **kwargs):
        started.append(Server(*args, **kwargs))
        return started[-1]

    yield start
    for server in started:
        server.exit()


def assert_urls_serve_the_files(highlight):
    clip, thumb = requests.get(highlight["clip_url"], timeout=10), requests.get(highlight["thumbnail_url"], timeout=10)
    assert (clip.status_code, clip.content, clip.headers["Content-Type"]) == (200, MP4, "video/mp4")
    assert (thumb.status_code, thumb.content, thumb.headers["Content-Type"]) == (200, JPG, "image/jpeg")


def test_a_highlight_is_reported_with_urls_that_serve_its_clip_and_thumbnail(backend, servers, webapp_stub, tmp_path):
    server = servers(tmp_path / "spool", backend.make())
    server.highlight(webapp_stub)
    assert wait_for(lambda: webapp_stub.posted("highlights"))
    [highlight] = webapp_stub.posted("highlights")
    assert highlight["key"] == "12-0007-0009" and highlight["score"] == 0.9
    assert_urls_serve_the_files(highlight)
    assert wait_for(lambda: server.uploader.pending == 0)
    assert not list((tmp_path / "spool" / "items").iterdir()), "a delivered highlight leaves the spool"


def test_while_storage_is_down_the_highlight_waits_and_is_reported_after_it_recovers(
    backend, servers, webapp_stub, tmp_path
):
    server = servers(tmp_path / "spool", backend.make())
    backend.break_()
    server.highlight(webapp_stub)  # returns at once: the scoring thread never waits for storage
    assert wait_for(lambda: server.uploader.last_error and "12/0007-0009.mp4" in server.uploader.last_error)
    time.sleep(0.5)  # several retries
    assert webapp_stub.posted("highlights") == [], "no report without stored files"
    assert server.uploader.pending == 1
    backend.repair()
    assert wait_for(lambda: webapp_stub.posted("highlights"))
    assert_urls_serve_the_files(webapp_stub.posted("highlights")[0])
    assert server.uploader.last_error is None


def test_a_spooled_highlight_survives_a_server_restart(backend, servers, webapp_stub, tmp_path):
    before = servers(tmp_path / "spool", backend.make())
    backend.break_()
    before.highlight(webapp_stub)
    assert wait_for(lambda: before.uploader.last_error)
    before.exit()

    backend.repair()
    assert webapp_stub.posted("highlights") == []
    servers(tmp_path / "spool", backend.make())
    # Only the new process can have sent it: the old one never got its files stored.
    assert wait_for(lambda: webapp_stub.posted("highlights")), "the new process found the item on disk"
    assert_urls_serve_the_files(webapp_stub.posted("highlights")[0])


def test_an_item_stays_spooled_until_the_webapp_has_the_report_even_across_a_restart(
    backend, servers, webapp_stub, tmp_path
):
    webapp_stub.status = 503
    before = servers(tmp_path / "spool", backend.make())
    before.highlight(webapp_stub)
    assert wait_for(lambda: before.uploader.uploaded == 2 and before.reporter.last_error)
    before.exit()
    manifest = json.loads(next((tmp_path / "spool" / "items").glob("*/item.json")).read_text())
    assert all(f["url"] for f in manifest["files"]), "the stored URLs are kept: no second upload"

    webapp_stub.status = 200
    after = servers(tmp_path / "spool", backend.make())
    assert wait_for(lambda: webapp_stub.posted("highlights") and after.uploader.pending == 0)
    assert after.uploader.uploaded == 0
    assert_urls_serve_the_files(webapp_stub.posted("highlights")[0])


def test_a_deleted_streams_spooled_highlights_are_dropped(backend, servers, webapp_stub, tmp_path):
    server = servers(tmp_path / "spool", backend.make())
    backend.break_()
    server.highlight(webapp_stub, stream_id=12)
    server.highlight(webapp_stub, stream_id=13)
    assert server.uploader.forget(12) == 1
    assert server.uploader.pending == 1
    backend.repair()
    assert wait_for(lambda: webapp_stub.posted("highlights"))
    time.sleep(0.3)
    assert [h["key"] for h in webapp_stub.posted("highlights")] == ["13-0007-0009"]


def test_an_item_storage_always_refuses_does_not_hold_back_the_ones_after_it(servers, webapp_stub, tmp_path):
    from server.storage import LocalStorage

    media = tmp_path / "media"
    (media / "12" / "0001-0001.mp4" / "in-the-way").mkdir(parents=True)  # its clip can never be stored
    server = servers(tmp_path / "spool", LocalStorage(media, "http://127.0.0.1:9/media"))
    server.highlight(webapp_stub, key="0001-0001")  # the oldest, retried first until now
    server.highlight(webapp_stub, key="0002-0002")
    server.highlight(webapp_stub, key="0003-0003")
    assert wait_for(lambda: len(webapp_stub.posted("highlights")) == 2, timeout=10)
    assert sorted(h["key"] for h in webapp_stub.posted("highlights")) == ["12-0002-0002", "12-0003-0003"]
    assert server.uploader.pending == 1 and "12/0001-0001.mp4" in server.uploader.last_error


def test_a_stream_the_webapp_no_longer_has_leaves_the_spool(servers, webapp_stub, tmp_path):
    from server.storage import LocalStorage

    webapp_stub.status = 404
    server = servers(tmp_path / "spool", LocalStorage(tmp_path / "media", "http://127.0.0.1:9/media"))
    server.highlight(webapp_stub)
    assert wait_for(lambda: server.uploader.uploaded == 2 and server.uploader.pending == 0)


def test_a_full_spool_drops_its_oldest_highlight(backend, servers, webapp_stub, tmp_path):
    server = servers(tmp_path / "spool", backend.make(), max_items=2)
    backend.break_()
    for key in ("0001-0001", "0002-0002", "0003-0003"):
        server.highlight(webapp_stub, key=key)
    assert server.uploader.pending == 2
    backend.repair()
    assert wait_for(lambda: len(webapp_stub.posted("highlights")) == 2)
    # Each item backs off on its own, so after a recovery they may arrive in either order.
    assert sorted(h["key"] for h in webapp_stub.posted("highlights")) == ["12-0002-0002", "12-0003-0003"]


@pytest.mark.parametrize(
    "contents",
    [
        pytest.param({}, id="no-manifest"),
        pytest.param({"item.json": "{not json"}, id="garbled-manifest"),
        pytest.param({"item.json": json.dumps({"id": "x"})}, id="manifest-missing-fields"),
    ],
)
def test_an_unfinished_or_unreadable_item_is_discarded_at_start(tmp_path, contents):
    folder = tmp_path / "spool" / "items" / "1700000000.000000-12-abcd"
    folder.mkdir(parents=True)
    write(folder / "clip.mp4", MP4)
    for name, text in contents.items():
        (folder / name).write_text(text)
    assert Spool(tmp_path / "spool").load() == []
    assert not folder.exists()
