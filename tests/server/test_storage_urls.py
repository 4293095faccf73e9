"""The clip storage's URLs, as the webapp's Download button checks them (issue 11, finding 2):
every URL a backend hands out lies under `public_url_prefix` of its settings, and nothing else
does, however it is spelled."""

from __future__ import annotations

import pytest
from storage_backends import BUCKET, write

from server.storage import is_storage_url, public_url_prefix

BUCKET_URL = ["https://storage.googleapis.com/my-highlights"]


def settings_of(backend) -> dict:
    if backend.name == "local":
        return {"STORAGE_BACKEND": "local", "MEDIA_BASE_URL": backend.base_url}
    return {"STORAGE_BACKEND": "gcs", "GCS_BUCKET": BUCKET, "STORAGE_EMULATOR_HOST": backend.host}


def test_every_url_a_backend_hands_out_is_in_its_storage(backend, tmp_path):
    url = backend.make().put(write(tmp_path / "clip.mp4", b"mp4"), "12/0001-0002-Xy_z.mp4", "video/mp4")
    prefix = public_url_prefix(settings_of(backend))
    assert is_storage_url(url, [prefix]), (url, prefix)
    assert not is_storage_url(url, ["http://127.0.0.1:1/media"])


@pytest.mark.parametrize(
    "settings, prefix",
    [
        ({"MEDIA_BASE_URL": "http://127.0.0.1:5000/media/"}, "http://127.0.0.1:5000/media"),
        ({"STORAGE_BACKEND": "gcs", "GCS_BUCKET": "b"}, "https://storage.googleapis.com/b"),
        (
            {"STORAGE_BACKEND": "gcs", "GCS_BUCKET": "b", "GCS_PUBLIC_BASE_URL": "https://clips.example.com/"},
            "https://clips.example.com",
        ),
        (
            {
                "STORAGE_BACKEND": "gcs",
                "GCS_BUCKET": "b",
                "GCS_PUBLIC_BASE_URL": "https://clips.example.com",
                "GCS_SIGNED_URLS": True,
            },
            "https://storage.googleapis.com/b",
        ),  # signed URLs name the bucket itself
    ],
)
def test_the_storage_prefix_follows_the_storage_settings(settings, prefix):
    assert public_url_prefix(settings) == prefix


def test_objects_of_the_bucket_and_their_signed_urls_are_in_storage():
    assert is_storage_url("https://storage.googleapis.com/my-highlights/12/a-Xy.mp4", BUCKET_URL)
    assert is_storage_url("https://STORAGE.googleapis.com:443/my-highlights/12/a.mp4?X-Goog-Signature=ab", BUCKET_URL)


@pytest.mark.parametrize(
    "url",
    [
        "https://storage.googleapis.com/my-highlights-evil/12/a.mp4",
        "https://storage.googleapis.com/other/12/a.mp4",
        "https://storage.googleapis.com/my-highlights",
        "http://storage.googleapis.com/my-highlights/12/a.mp4",
        "https://storage.googleapis.com:8443/my-highlights/12/a.mp4",
        "https://storage.googleapis.com.evil.example/my-highlights/12/a.mp4",
        "https://user@storage.googleapis.com/my-highlights/12/a.mp4",
        "https://:pw@storage.googleapis.com/my-highlights/12/a.mp4",
        "https://storage.googleapis.com/my-highlights/12/../../other/a.mp4",
        "https://storage.googleapis.com/my-highlights/%2e%2e/other/a.mp4",
        "https://storage.googleapis.com/my-highlights/12%5c..%5c/a.mp4",
        "https://storage.googleapis.com:notaport/my-highlights/a.mp4",
        "file:///etc/passwd",
        "gopher://storage.googleapis.com/my-highlights/a",
        "not a url",
    ],
)
def test_other_buckets_hosts_schemes_and_tricks_are_not(url):
    assert not is_storage_url(url, BUCKET_URL)
