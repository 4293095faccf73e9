"""The one place the webapp talks to the processing server (docs/contract.md, webapp -> server).

A fresh `requests` call per request: calls are rare (add or delete a stream), and this keeps
no pooled sockets around between threads or tests.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.conf import settings

log = logging.getLogger(__name__)

TIMEOUT = (3.05, 10)  # seconds: connect, read


class ProcessingServerError(Exception):
    """Raised by this module when the server is unreachable or answers with an error.

    `status` is the HTTP status, or None when no answer came (connection refused, timeout).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    @property
    def rejected(self) -> bool:
        """True when the server refused the request itself (400): retrying will not help."""
        return self.status == 400


def create_job(stream_id: int, source: str, chat_channel: str | None,
               per_hour: float | None = None) -> dict[str, Any]:
    """Ask the server to start tracking a stream; return the job it reports.

    `per_hour` is the user's highlight budget for this stream (None: the model's).
    """
    payload: dict[str, Any] = {
        "stream_id": stream_id,
        "source": source,
        "chat_channel": chat_channel,
        "callback_base": settings.WEBAPP_PUBLIC_URL,
        "highlights_per_hour": per_hour,
    }
    response = _request("POST", "/api/v1/jobs", json=payload)
    job = _json(response)
    if response.status_code not in (200, 201) or not isinstance(job, dict):
        raise ProcessingServerError(_error_text(response, job), response.status_code)
    return job


def set_budget(stream_id: int, per_hour: float | None) -> dict[str, Any] | None:
    """Set a running job's highlight budget (None: the model's); None when the server has no job
    for the stream."""
    response = _request("PATCH", f"/api/v1/jobs/{stream_id}", json={"highlights_per_hour": per_hour})
    if response.status_code == 404:
        return None
    job = _json(response)
    if response.status_code != 200 or not isinstance(job, dict):
        raise ProcessingServerError(_error_text(response, job), response.status_code)
    return job


def delete_job(stream_id: int) -> None:
    """Ask the server to stop a job; 204 also when it had no such job."""
    response = _request("DELETE", f"/api/v1/jobs/{stream_id}")
    if response.status_code not in (200, 204, 404):
        raise ProcessingServerError(_error_text(response, _json(response)), response.status_code)


def _request(method: str, path: str, **kwargs: Any) -> requests.Response:
    url = settings.SERVER_URL + path
    headers = {"Authorization": f"Bearer {settings.SERVER_API_TOKEN}"}
    try:
        return requests.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        log.warning("processing server unreachable: %s %s: %s", method, url, exc)
        raise ProcessingServerError(f"the processing server at {settings.SERVER_URL} is not reachable") from exc


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_text(response: requests.Response, body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"].strip():
        return body["error"].strip()[:500]
    return f"the processing server answered HTTP {response.status_code}"
