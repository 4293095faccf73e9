"""Checkpoint download against a loopback HTTP server: verify, resume, retry, leave nothing partial."""

from __future__ import annotations

import hashlib
import os
import time

import pytest
from fake_hosts import FileHost, closed_port_url

from panns.download import CHECKPOINTS, CheckpointFile, DownloadError, cache_path, download

BODY = os.urandom(300_000)  # a small stand-in for a checkpoint file
SPEC = CheckpointFile("Fake_mAP=0.1.pth", len(BODY), hashlib.sha256(BODY).hexdigest())


@pytest.fixture
def server():
    host = FileHost({f"/files/{SPEC.file}": BODY})
    host.file_url = host.url(f"/files/{SPEC.file}")
    yield host
    host.close()


def fetch(server, folder, **kwargs):
    return download(
        "Fake", folder, source=SPEC, url=server.file_url, backoff_s=0.01, timeout_s=5, progress=False, **kwargs
    )


def test_a_clean_download_is_verified_and_moved_into_place(server, tmp_path):
    path = fetch(server, tmp_path)
    assert path == tmp_path / SPEC.file and path.read_bytes() == BODY
    assert sorted(p.name for p in tmp_path.iterdir()) == [SPEC.file]


def test_a_dropped_connection_resumes_with_a_range_request(server, tmp_path):
    server.plan = ["truncate"]
    assert fetch(server, tmp_path).read_bytes() == BODY
    first, resumed = [r for _, r in server.requests]
    assert first is None and resumed.startswith("bytes=") and 0 < int(resumed[6:-1]) <= len(BODY) // 3


def test_a_server_error_is_retried(server, tmp_path):
    server.plan = ["500", "500"]
    assert fetch(server, tmp_path).read_bytes() == BODY
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    "plan, message",
    [
        pytest.param(["corrupt"] * 5, "corrupt download", id="corrupt-every-time"),
        pytest.param(["truncate"] * 5, "could not download", id="truncated-every-time"),
        pytest.param(["500"] * 5, "500", id="server-error-every-time"),
    ],
)
def test_a_failed_download_leaves_no_file_behind(server, tmp_path, plan, message):
    server.plan = plan
    with pytest.raises(DownloadError, match=message):
        fetch(server, tmp_path, retries=2)
    assert list(tmp_path.iterdir()) == []


def test_a_corrupt_download_starts_over_instead_of_resuming(server, tmp_path):
    server.plan = ["corrupt"]
    assert fetch(server, tmp_path).read_bytes() == BODY
    assert [r for _, r in server.requests] == [None, None]


def test_a_verified_file_in_place_is_not_fetched_again(server, tmp_path):
    fetch(server, tmp_path)
    fetch(server, tmp_path)
    assert len(server.requests) == 1


def test_a_damaged_file_in_place_is_replaced(server, tmp_path):
    (tmp_path / SPEC.file).write_bytes(b"not a checkpoint")
    assert fetch(server, tmp_path).read_bytes() == BODY


def test_the_cache_folder_follows_panns_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("PANNS_CACHE", str(tmp_path))
    assert cache_path("Cnn10") == tmp_path / "Cnn10_mAP=0.380.pth"


def test_the_published_table_points_at_zenodo():
    assert CHECKPOINTS["Cnn14"].url == "https://zenodo.org/record/3987831/files/Cnn14_mAP%3D0.431.pth?download=1"
    assert CHECKPOINTS["Cnn14"].size == 327_428_481


def test_an_unreachable_host_fails_at_once_in_words_without_retrying(tmp_path):
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"cannot reach 127\.0\.0\.1:\d+ \(offline\?\): connection refused") as info:
        download("Fake", tmp_path, source=SPEC, url=closed_port_url() + "/x.pth", backoff_s=5, progress=False)
    assert info.value.offline and time.monotonic() - started < 3
    assert list(tmp_path.iterdir()) == []


def test_zenodo_can_be_moved_to_a_mirror(monkeypatch):
    monkeypatch.setenv("ZENODO_ENDPOINT", "http://127.0.0.1:9/")
    assert CHECKPOINTS["Cnn10"].url == "http://127.0.0.1:9/record/3987831/files/Cnn10_mAP%3D0.380.pth?download=1"
