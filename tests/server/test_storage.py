"""One storage suite, passed by both backends: the local folder and a GCS bucket (emulator)."""

from __future__ import annotations

import time

import pytest
import requests
from storage_backends import write

from server.storage import LocalStorage, StorageError, make_storage

MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40
JPG = b"\xff\xd8\xff\xe0" + b"thumbnail" * 100


@pytest.mark.parametrize(
    "key, data, content_type",
    [
        pytest.param("12/0007-0009.mp4", MP4, "video/mp4", id="clip"),
        pytest.param("12/0007-0009.jpg", JPG, "image/jpeg", id="thumbnail"),
    ],
)
def test_a_stored_file_gets_a_url_that_serves_its_bytes_with_its_type(backend, tmp_path, key, data, content_type):
    storage = backend.make()
    url = storage.put(write(tmp_path / "f", data), key, content_type)
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["Content-Type"].split(";")[0] == content_type
    storage.check(key, url, len(data), content_type)  # and the uploader's own check agrees


def test_a_url_that_does_not_serve_the_file_fails_the_check(backend, tmp_path):
    storage = backend.make()
    url = storage.put(write(tmp_path / "f", MP4), "12/a.mp4", "video/mp4")
    with pytest.raises(StorageError):
        storage.check("12/missing.mp4", url.replace("a.mp4", "missing.mp4"), len(MP4), "video/mp4")


def test_storing_the_same_key_twice_keeps_the_newer_file(backend, tmp_path):
    storage = backend.make()
    storage.put(write(tmp_path / "old", b"old"), "12/a.jpg", "image/jpeg")
    url = storage.put(write(tmp_path / "new", JPG), "12/a.jpg", "image/jpeg")
    assert requests.get(url, timeout=10).content == JPG


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("../x.mp4", id="parent"),
        pytest.param("/etc/x", id="absolute"),
        pytest.param("12/../../x", id="climbs-out"),
        pytest.param("", id="empty"),
        pytest.param("12\\..\\x", id="backslashes"),
    ],
)
def test_a_key_that_could_escape_its_stream_is_refused(backend, tmp_path, key):
    with pytest.raises(StorageError, match="unsafe"):
        backend.make().put(write(tmp_path / "f", MP4), key, "video/mp4")


def test_deleting_a_stream_prefix_removes_only_that_streams_files(backend, tmp_path):
    storage = backend.make()
    source = write(tmp_path / "f", MP4)
    kept = [storage.put(source, "13/a.mp4", "video/mp4"), storage.put(source, "123/a.mp4", "video/mp4")]
    gone = [storage.put(source, key, "video/mp4") for key in ("12/a.mp4", "12/a.jpg", "12/b.mp4")]
    assert storage.delete_prefix("12") == 3
    assert [requests.get(url, timeout=10).status_code for url in gone] == [404, 404, 404]
    assert [requests.get(url, timeout=10).status_code for url in kept] == [200, 200]
    assert storage.delete_prefix("12/") == 0  # nothing left: deleting again is harmless


def test_retention_deletes_only_files_stored_before_the_cutoff(backend, tmp_path):
    storage = backend.make()
    url = storage.put(write(tmp_path / "f", MP4), "12/a.mp4", "video/mp4")
    assert storage.delete_older_than(time.time() - 3600) == 0
    assert requests.get(url, timeout=10).status_code == 200
    assert storage.delete_older_than(time.time() + 60) == 1
    assert requests.get(url, timeout=10).status_code == 404


def test_an_outage_raises_a_storage_error_and_storing_works_again_after_it(backend, tmp_path):
    source = write(tmp_path / "f", MP4)
    storage = backend.make()
    backend.break_()
    with pytest.raises(StorageError, match="12/a.mp4"):
        storage.put(source, "12/a.mp4", "video/mp4")
    backend.repair()
    url = storage.put(source, "12/a.mp4", "video/mp4")
    assert requests.get(url, timeout=10).content == MP4


def test_the_local_url_is_the_base_url_and_the_key(tmp_path):
    storage = LocalStorage(tmp_path / "media", "http://127.0.0.1:5000/media/")
    assert storage.put(write(tmp_path / "f", MP4), "12//a.mp4", "video/mp4") == "http://127.0.0.1:5000/media/12/a.mp4"


@pytest.mark.parametrize(
    "config, error",
    [
        pytest.param({"STORAGE_BACKEND": "s3"}, "expected 'local' or 'gcs'", id="unknown-backend"),
        pytest.param({"STORAGE_BACKEND": "gcs", "GCS_BUCKET": None}, "GCS_BUCKET is required", id="gcs-without-bucket"),
    ],
)
def test_a_bad_backend_setting_is_refused_in_words(config, error, tmp_path):
    with pytest.raises(StorageError, match=error):
        make_storage({"MEDIA_ROOT": tmp_path, "MEDIA_BASE_URL": "http://x/media", **config})
