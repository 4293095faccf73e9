"""The Google Cloud Storage backend: clips in a bucket that the web app links to.

The `google-cloud-storage` client is made on first use, from the standard Google credentials
(GOOGLE_APPLICATION_CREDENTIALS, workload identity / the metadata server), or anonymous when
STORAGE_EMULATOR_HOST points at an emulator. Credentials are never logged or put in errors.
Transient errors (connection errors, 408/429/5xx) are retried by the library's Retry object with
exponential backoff; what still fails raises StorageError and the spool tries again later.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from google.api_core.exceptions import GoogleAPIError
from google.auth.exceptions import GoogleAuthError

from server.storage_base import GOOGLE_STORAGE_URL, StorageError, safe_key, safe_prefix

log = logging.getLogger(__name__)

MAX_SIGNED_URL_S = 7 * 24 * 3600  # V4 signed URLs live at most 7 days
_FAILURES = (GoogleAPIError, GoogleAuthError, requests.RequestException, OSError, ValueError)


class GCSStorage:
    """Objects `<key>` in `bucket`; URLs public (`<base>/<bucket>/<key>`) or V4-signed."""

    def __init__(
        self,
        bucket: str,
        *,
        public_base_url: str | None = None,
        emulator_host: str | None = None,
        signed_urls: bool = False,
        signed_url_expiry_s: int = MAX_SIGNED_URL_S,
        cache_control: str = "public, max-age=86400",
        retry_deadline_s: float = 60.0,
        timeout_s: float = 60.0,
        verify_urls: bool = True,
        project: str | None = None,
    ):
        if not bucket:
            raise StorageError("GCS_BUCKET is required when STORAGE_BACKEND is 'gcs'")
        if signed_urls and not 1 <= signed_url_expiry_s <= MAX_SIGNED_URL_S:
            raise StorageError(
                f"GCS_SIGNED_URL_EXPIRY_S must be 1..{MAX_SIGNED_URL_S} (7 days), got {signed_url_expiry_s}"
            )
        self.bucket_name = bucket
        self.emulator_host = emulator_host.rstrip("/") if emulator_host else None
        self.public_base_url = (public_base_url or "").rstrip("/") or None
        self.signed_urls = signed_urls
        self.signed_url_expiry_s = signed_url_expiry_s
        self.cache_control = cache_control
        self.timeout_s = timeout_s
        self.verify_urls = verify_urls
        self.project = project
        self._retry_deadline_s = retry_deadline_s
        self._client_lock = threading.Lock()
        self._client: Any = None
        self._http = requests.Session()
        # Fail at start-up, not at the first highlight, when signing cannot work.
        self._signer = self._signing_credentials() if signed_urls else None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> GCSStorage:
        return cls(
            config.get("GCS_BUCKET") or "",
            public_base_url=config.get("GCS_PUBLIC_BASE_URL"),
            emulator_host=config.get("STORAGE_EMULATOR_HOST"),
            signed_urls=bool(config.get("GCS_SIGNED_URLS")),
            signed_url_expiry_s=int(config.get("GCS_SIGNED_URL_EXPIRY_S") or MAX_SIGNED_URL_S),
            cache_control=config.get("STORAGE_CACHE_CONTROL") or "public, max-age=86400",
            retry_deadline_s=float(config.get("GCS_RETRY_DEADLINE_S") or 60.0),
            verify_urls=bool(config.get("GCS_VERIFY_URLS", True)),
            project=config.get("GCS_PROJECT"),
        )

    # --- the Storage interface ---------------------------------------------------------------

    def put(self, local_path: Path, key: str, content_type: str) -> str:
        name = safe_key(key)
        try:
            blob = self._bucket().blob(name)
            blob.cache_control = self.cache_control
            blob.upload_from_filename(
                str(local_path), content_type=content_type, timeout=self.timeout_s, retry=self._retry()
            )  # same bytes under the same key: safe to repeat
            return self._url(blob)
        except _FAILURES as exc:
            raise StorageError(f"cannot upload {name} to gs://{self.bucket_name}: {_describe(exc)}") from exc

    def check(self, key: str, url: str, size: int, content_type: str) -> None:
        name = safe_key(key)
        if not self.verify_urls:
            self._check_object(name, size)
            return
        # What a browser will do: fetch the URL anonymously. A private bucket answers 403 here.
        try:
            response = self._http.get(url, headers={"Range": "bytes=0-0"}, timeout=self.timeout_s, stream=True)
            response.close()
        except requests.RequestException as exc:
            raise StorageError(f"{name} was uploaded but its URL does not answer: {_describe(exc)}") from exc
        if response.status_code not in (200, 206):
            hint = " (is the bucket public? see docs/storage.md)" if response.status_code in (401, 403) else ""
            raise StorageError(f"{name} was uploaded but its URL answers {response.status_code}{hint}")
        served = response.headers.get("Content-Type", "").split(";")[0].strip()
        if served != content_type:
            raise StorageError(f"{name} is served as {served or 'no type'}, expected {content_type}")

    def delete_prefix(self, prefix: str) -> int:
        folder = safe_prefix(prefix)
        return self._delete_where(folder, lambda blob: True)

    def delete_older_than(self, cutoff_epoch: float) -> int:
        cutoff = datetime.datetime.fromtimestamp(cutoff_epoch, datetime.UTC)
        return self._delete_where(None, lambda blob: blob.time_created is not None and blob.time_created < cutoff)

    # --- helpers ----------------------------------------------------------------------------

    def _delete_where(self, prefix: str | None, wanted) -> int:
        count = 0
        try:
            for blob in self._client_or_make().list_blobs(
                self.bucket_name, prefix=prefix, retry=self._retry(), timeout=self.timeout_s
            ):
                if wanted(blob):
                    blob.delete(retry=self._retry(), timeout=self.timeout_s)
                    count += 1
        except _FAILURES as exc:
            where = f"gs://{self.bucket_name}/{prefix or ''}"
            raise StorageError(f"cannot delete under {where} ({count} deleted so far): {_describe(exc)}") from exc
        return count

    def _check_object(self, name: str, size: int) -> None:
        try:
            blob = self._bucket().get_blob(name, retry=self._retry(), timeout=self.timeout_s)
        except _FAILURES as exc:
            raise StorageError(f"cannot check {name}: {_describe(exc)}") from exc
        if blob is None or blob.size != size:
            raise StorageError(f"{name} is missing or incomplete in gs://{self.bucket_name}")

    def _url(self, blob) -> str:
        if self.signed_urls:
            return blob.generate_signed_url(
                version="v4",
                method="GET",
                expiration=datetime.timedelta(seconds=self.signed_url_expiry_s),
                credentials=self._signer,
                api_access_endpoint=self.emulator_host or GOOGLE_STORAGE_URL,
            )
        if self.public_base_url:  # a CDN or a domain mapped onto the bucket
            return f"{self.public_base_url}/{quote(blob.name)}"
        return f"{self.emulator_host or GOOGLE_STORAGE_URL}/{self.bucket_name}/{quote(blob.name)}"

    def _retry(self):
        from google.cloud.storage.retry import DEFAULT_RETRY  # retries 408, 429, 5xx and connection errors

        return DEFAULT_RETRY.with_timeout(self._retry_deadline_s).with_delay(initial=0.5, maximum=10.0, multiplier=2.0)

    def _bucket(self):
        return self._client_or_make().bucket(self.bucket_name)

    def _client_or_make(self):
        with self._client_lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self):
        from google.cloud import storage

        if self.emulator_host:
            from google.auth.credentials import AnonymousCredentials

            log.info("storage: gs://%s on the emulator at %s (anonymous)", self.bucket_name, self.emulator_host)
            return storage.Client(
                project=self.project or "emulator",
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": self.emulator_host},
            )
        log.info("storage: gs://%s with the default Google credentials", self.bucket_name)
        return storage.Client(project=self.project)

    def _signing_credentials(self):
        """Credentials that can sign URLs locally: a service-account key, never anonymous ones."""
        import os

        from google.auth import credentials as ga_credentials

        key_file = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        if self.emulator_host and not key_file:
            raise StorageError(
                "GCS_SIGNED_URLS needs a service-account key to sign with; the emulator's anonymous "
                "credentials cannot sign (set GOOGLE_APPLICATION_CREDENTIALS or turn GCS_SIGNED_URLS off)"
            )
        try:
            if key_file:
                from google.oauth2 import service_account

                creds = service_account.Credentials.from_service_account_file(key_file)
            else:
                import google.auth

                creds, _ = google.auth.default()
        except (GoogleAuthError, OSError, ValueError) as exc:
            raise StorageError(f"GCS_SIGNED_URLS: no usable Google credentials ({exc.__class__.__name__})") from exc
        if not isinstance(creds, ga_credentials.Signing):
            raise StorageError(
                "GCS_SIGNED_URLS needs credentials that can sign (a service-account key file in "
                f"GOOGLE_APPLICATION_CREDENTIALS); {type(creds).__name__} cannot"
            )
        return creds


def _describe(exc: BaseException) -> str:
    """A short reason for logs and /healthz: the exception's class and first line, nothing more."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{exc.__class__.__name__}: {text[:200]}" if text else exc.__class__.__name__
