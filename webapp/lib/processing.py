"""The one place the webapp talks to the processing server (docs/contract.md, webapp -> server).

A fresh `requests` call per request: calls are rare (add or delete a stream), and this keeps
no pooled sockets around between threads or tests.

Pages never wait long on the server: timeouts are short, and a circuit breaker per server URL
(breaker.py) makes calls fail at once after three in a row found the server dead or hung, until
a trial call 15 s later finds it back. A server that answers, even with an error, is up. GET pages
do not call the server at all; streams waiting for it are retried in the background
(webapp/streams/sync.py).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import requests
from django.conf import settings

from webapp.lib.breaker import CircuitBreaker

log = logging.getLogger(__name__)

TIMEOUT = (1.0, 3.0)  # seconds: connect (loopback or LAN), read (starting a job is quick)
STOP_TIMEOUT = (1.0, 10.0)  # DELETE waits for the job's threads and ffmpeg to end
UPLOAD_TIMEOUT = (1.0, 60.0)  # a VOD's chat file: sent, then parsed by the server before it answers
RECORDING_TIMEOUT = (1.0, 600.0)  # a recording: sent, probed and remuxed (a stream copy) before the answer
BREAKER_FAILURES = 3  # calls in a row that found the server dead or hung before the breaker opens
BREAKER_RESET_S = 15.0  # seconds the breaker stays open before one trial call

_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker() -> CircuitBreaker:
    """The circuit breaker of the configured SERVER_URL (one per URL, shared by every thread)."""
    with _breakers_lock:
        return _breakers.setdefault(settings.SERVER_URL, CircuitBreaker(BREAKER_FAILURES, BREAKER_RESET_S))


def reset_breakers() -> None:
    """Forget every breaker's state (tests start from a closed breaker)."""
    with _breakers_lock:
        _breakers.clear()


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


def create_job(
    stream_id: int, source: str, chat_channel: str | None, per_hour: float | None = None, kind: str = "live"
) -> dict[str, Any]:
    """Ask the server to start tracking a stream; return the job it reports.

    `per_hour` is the user's highlight budget for this stream (None: the model's); `kind` "vod":
    a past broadcast, analysed once (its chat file, if any, sent first with `upload_chat`).
    """
    payload: dict[str, Any] = {
        "stream_id": stream_id,
        "source": source,
        "chat_channel": chat_channel,
        "callback_base": settings.WEBAPP_PUBLIC_URL,
        "highlights_per_hour": per_hour,
    }
    if kind != "live":
        payload["kind"] = kind  # absent for a live stream: what servers before VODs understand
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


def upload_chat(stream_id: int, path: Path) -> dict[str, Any]:
    """Hand a VOD's chat file to the server (PUT /api/v1/jobs/<id>/chat), streamed from disk."""
    return _upload(f"/api/v1/jobs/{stream_id}/chat", path, UPLOAD_TIMEOUT)


def upload_recording(stream_id: int, path: Path) -> dict[str, Any]:
    """Hand a VOD's uploaded recording to the server (PUT /api/v1/jobs/<id>/recording), streamed."""
    return _upload(f"/api/v1/jobs/{stream_id}/recording", path, RECORDING_TIMEOUT)


def _upload(path: str, file: Path, timeout: tuple[float, float]) -> dict[str, Any]:
    """PUT `file` in parts of VOD_UPLOAD_CHUNK_BYTES (the server takes no big bodies: its web
    server reads a whole body before the token is checked); the last part's answer is the result."""
    size, part = file.stat().st_size, max(1, settings.VOD_UPLOAD_CHUNK_BYTES)
    with open(file, "rb") as body:
        offset = 0
        while True:
            chunk = body.read(part)
            last = offset + len(chunk) >= size
            response = _request("PUT", path, timeout=timeout, data=chunk, params={"offset": offset, "last": int(last)})
            answer = _json(response)
            if response.status_code not in ((201,) if last else (202,)) or not isinstance(answer, dict):
                raise ProcessingServerError(_error_text(response, answer), response.status_code)
            if last:
                return answer
            offset += len(chunk)


def delete_job(stream_id: int) -> None:
    """Ask the server to stop a job; 204 also when it had no such job."""
    response = _request("DELETE", f"/api/v1/jobs/{stream_id}", timeout=STOP_TIMEOUT)
    if response.status_code not in (200, 204, 404):
        raise ProcessingServerError(_error_text(response, _json(response)), response.status_code)


def _request(method: str, path: str, timeout: tuple[float, float] = TIMEOUT, **kwargs: Any) -> requests.Response:
    url = settings.SERVER_URL + path
    circuit = breaker()
    if not circuit.allow():
        raise ProcessingServerError(
            f"the processing server at {settings.SERVER_URL} is not answering (next try in {circuit.retry_in():.0f} s)"
        )
    headers = {"Authorization": f"Bearer {settings.SERVER_API_TOKEN}"}
    try:
        response = requests.request(method, url, headers=headers, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        circuit.failure()
        log.warning("processing server unreachable: %s %s: %s", method, url, exc)
        raise ProcessingServerError(f"the processing server at {settings.SERVER_URL} is not reachable") from exc
    circuit.success()  # it answered: up, even if the answer is an error
    return response


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_text(response: requests.Response, body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"].strip():
        return body["error"].strip()[:500]
    return f"the processing server answered HTTP {response.status_code}"


def start_render(stream_id: int, name: str, clip_url: str, layout: str, start_s: float, end_s: float) -> dict[str, Any]:
    """Ask the server to render a trimmed vertical or square version of a stored clip; return the
    render it queued (`POST /api/v1/renders`, docs/contract.md)."""
    payload = {
        "stream_id": stream_id,
        "name": name,
        "clip_url": clip_url,
        "layout": layout,
        "start_s": start_s,
        "end_s": end_s,
    }
    response = _request("POST", "/api/v1/renders", json=payload)
    render = _json(response)
    if response.status_code != 202 or not isinstance(render, dict):
        raise ProcessingServerError(_error_text(response, render), response.status_code)
    return render


def get_render(render_id: str) -> dict[str, Any] | None:
    """The render's state on the server, or None when the server does not know it (restarted)."""
    response = _request("GET", f"/api/v1/renders/{render_id}")
    if response.status_code == 404:
        return None
    render = _json(response)
    if response.status_code != 200 or not isinstance(render, dict):
        raise ProcessingServerError(_error_text(response, render), response.status_code)
    return render
