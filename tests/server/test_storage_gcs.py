"""What only the GCS backend does: object metadata, signed URLs, credentials, a missing bucket.
The real google-cloud-storage client against gcp-storage-emulator on loopback."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from storage_backends import BUCKET, write

from server.storage import StorageError, make_storage
from server.storage_gcs import GCSStorage

MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40


@pytest.fixture
def service_account_key(tmp_path, monkeypatch):
    """A service-account key file made here (a fresh RSA key): signing is local, no Google call."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path / "sa.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "test",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "highlights@test.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    return pem


def test_an_upload_carries_its_content_type_and_cache_control(gcs, tmp_path):
    storage = gcs.make(cache_control="public, max-age=600")
    url = storage.put(write(tmp_path / "f", MP4), "12/a.mp4", "video/mp4")
    assert url == f"{gcs.host}/{BUCKET}/12/a.mp4"
    blob = gcs.client().bucket(BUCKET).get_blob("12/a.mp4")
    assert (blob.content_type, blob.cache_control, blob.size) == ("video/mp4", "public, max-age=600", len(MP4))


def test_without_a_public_base_url_the_url_is_storage_googleapis_com(tmp_path):
    storage = GCSStorage("my-clips")
    blob = type("Blob", (), {"name": "12/a b.mp4"})()
    assert storage._url(blob) == "https://storage.googleapis.com/my-clips/12/a%20b.mp4"


def test_a_public_base_url_replaces_the_bucket_address(gcs, tmp_path):
    storage = gcs.make(public_base_url="https://clips.example.com/")
    url = storage.put(write(tmp_path / "f", MP4), "12/a.mp4", "video/mp4")
    assert url == "https://clips.example.com/12/a.mp4"


def test_signed_urls_serve_the_clip_and_never_log_the_key(gcs, tmp_path, service_account_key, caplog):
    caplog.set_level(logging.DEBUG)
    storage = gcs.make(signed_urls=True, signed_url_expiry_s=3600)
    url = storage.put(write(tmp_path / "f", MP4), "12/a.mp4", "video/mp4")
    assert (
        url.startswith(f"{gcs.host}/{BUCKET}/12/a.mp4?") and "X-Goog-Signature=" in url and "X-Goog-Expires=3600" in url
    )
    assert len(url) <= 1000, "the webapp stores URLs of up to 1000 characters (docs/contract.md)"
    assert requests.get(url, timeout=10).content == MP4
    storage.check("12/a.mp4", url, len(MP4), "video/mp4")
    body = service_account_key.splitlines()[1]
    assert body not in caplog.text and "PRIVATE KEY" not in caplog.text


def test_signed_urls_with_the_emulators_anonymous_credentials_fail_at_start_in_words(gcs, monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    with pytest.raises(StorageError, match="service-account key"):
        gcs.make(signed_urls=True)


@pytest.mark.parametrize("expiry", [pytest.param(0, id="zero"), pytest.param(8 * 86400, id="over-7-days")])
def test_a_signed_url_expiry_outside_what_gcs_allows_is_refused(gcs, expiry):
    with pytest.raises(StorageError, match="GCS_SIGNED_URL_EXPIRY_S"):
        gcs.make(signed_urls=True, signed_url_expiry_s=expiry)


def test_a_bucket_that_does_not_exist_yet_fails_in_words_then_works_once_created(gcs, tmp_path):
    storage = make_storage(
        {"STORAGE_BACKEND": "gcs", "GCS_BUCKET": "later", "STORAGE_EMULATOR_HOST": gcs.host, "GCS_RETRY_DEADLINE_S": 1}
    )
    source = write(tmp_path / "f", MP4)
    with pytest.raises(StorageError, match="gs://later.*NotFound"):
        storage.put(source, "12/a.mp4", "video/mp4")
    gcs.client().create_bucket("later")
    url = storage.put(source, "12/a.mp4", "video/mp4")
    assert requests.get(url, timeout=10).content == MP4


def test_with_url_checks_off_the_object_itself_is_checked(gcs, tmp_path):
    storage = gcs.make(public_base_url="https://clips.example.com", verify_urls=False)
    url = storage.put(write(tmp_path / "f", MP4), "12/a.mp4", "video/mp4")
    storage.check("12/a.mp4", url, len(MP4), "video/mp4")  # no request to clips.example.com
    with pytest.raises(StorageError, match="missing or incomplete"):
        storage.check("12/a.mp4", url, len(MP4) + 1, "video/mp4")


@pytest.mark.parametrize(
    "status, words",
    [
        pytest.param(403, "is the bucket public", id="private-bucket"),
        pytest.param(404, "answers 404", id="missing"),
    ],
)
def test_a_url_that_viewers_could_not_open_fails_the_check_in_words(gcs, status, words):
    class Refuse(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        with pytest.raises(StorageError, match=words):
            gcs.make().check("12/a.mp4", f"http://127.0.0.1:{httpd.server_port}/b/12/a.mp4", 10, "video/mp4")
    finally:
        httpd.shutdown()
        httpd.server_close()
