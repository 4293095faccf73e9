"""Validate a job request from the webapp (pure: no I/O), including the no-SSRF host check."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from allowlist import host_port, url_allowed
from metamodel.selection import validate_per_hour

CHANNEL_RE = re.compile(r"^[a-zA-Z0-9_]{3,25}$")
# A past broadcast on Twitch: streamlink's twitch plugin opens it like a channel (Twitch's hosts).
TWITCH_VIDEO_RE = re.compile(r"^https://(?:www\.|m\.)?twitch\.tv/videos/(\d{1,20})$")
KINDS = ("live", "vod")
UPLOADED = "upload"  # a VOD's source: the recording uploaded for it (PUT /api/v1/jobs/<id>/recording)
MAX_STREAM_ID = 2**63 - 1  # the webapp's ids are 64-bit database keys


class ValidationError(ValueError):
    """The request is malformed; the message says which field and why, for a 400 answer."""


@dataclass(frozen=True)
class JobRequest:
    stream_id: int
    source: str  # a Twitch login or an allowed URL, as sent
    stream_url: str  # what streamlink opens
    chat_channel: str | None
    callback_base: str
    per_hour: float | None = None  # the user's highlight budget for this stream; None = the model's
    kind: str = "live"  # "vod": a past broadcast, read once as fast as it can be scored (server/vod.py)


def source_host(url: str) -> str:
    """Host of a source URL; `hls://` wraps an http(s) URL (or a bare host, meaning https)."""
    inner = url[len("hls://") :] if url.startswith("hls://") else url
    if not inner.startswith(("http://", "https://")):
        if url.startswith("hls://"):
            inner = "https://" + inner
        else:
            raise ValidationError("source URL must start with http://, https:// or hls://")
    parts = urlsplit(inner)
    if parts.username is not None or parts.password is not None:
        raise ValidationError("source URL must not contain a user name or password")
    if not parts.hostname:
        raise ValidationError("source URL has no host")
    return parts.hostname.lower()


def _host_port(url: str) -> tuple[str, object]:
    try:
        return host_port(url)
    except ValueError:
        raise ValidationError("source URL has an invalid port") from None


def validate_budget(raw: Any) -> float | None:
    """Highlights per hour (metamodel.selection's range), or None (use the model's own)."""
    if raw is None:
        return None
    try:
        return validate_per_hour(raw)
    except ValueError as exc:
        raise ValidationError(f"highlights_per_hour: {exc}, or null") from None


def validate_job(
    data: Any, allowed_source_hosts: list[str], allowed_callback_hosts: list[str], twitch_url_template: str
) -> JobRequest:
    """Return the parsed request or raise ValidationError naming the first bad field."""
    if not isinstance(data, dict):
        raise ValidationError("body must be a JSON object")
    stream_id = data.get("stream_id")
    if isinstance(stream_id, bool) or not isinstance(stream_id, int) or not 0 < stream_id <= MAX_STREAM_ID:
        raise ValidationError(f"stream_id must be a positive integer up to {MAX_STREAM_ID}")
    source = data.get("source")
    if not isinstance(source, str) or not source:
        raise ValidationError("source must be a Twitch channel name or a URL")
    kind = data.get("kind", "live")
    if kind not in KINDS:
        raise ValidationError('kind must be "live" or "vod"')
    if kind == "vod" and source == UPLOADED:  # before the channel names: "upload" is one
        stream_url = UPLOADED  # read from DATA_DIR by the VOD job, never fetched
    elif CHANNEL_RE.match(source):
        if kind == "vod":
            raise ValidationError("a past broadcast's source must be a twitch.tv/videos/<id> link or a URL")
        stream_url = twitch_url_template.format(login=source.lower())
    elif kind == "vod" and TWITCH_VIDEO_RE.match(source):
        stream_url = source  # reaches Twitch's hosts only (TWITCH_SOURCE_HOSTS), as a channel does
    elif "://" in source:
        source_host(source)  # refuses user info, a missing host, a scheme streamlink is not given
        if not url_allowed(source, allowed_source_hosts):
            host, port = _host_port(source)
            raise ValidationError(f"source host {host}:{port} is not allowed")
        stream_url = source
    else:
        raise ValidationError("source must be a Twitch channel name (3-25 letters, digits, _) or a URL")
    chat = data.get("chat_channel")
    if chat is not None and (not isinstance(chat, str) or not CHANNEL_RE.match(chat)):
        raise ValidationError("chat_channel must be a Twitch channel name or null")
    callback = data.get("callback_base")
    if not isinstance(callback, str) or not callback.startswith(("http://", "https://")):
        raise ValidationError("callback_base must be an http(s) URL")
    if source_host(callback) not in allowed_callback_hosts:
        raise ValidationError(f"callback host {source_host(callback)!r} is not allowed")
    return JobRequest(
        stream_id,
        source,
        stream_url,
        chat.lower() if chat else None,
        callback.rstrip("/"),
        validate_budget(data.get("highlights_per_hour")),
        kind,
    )
