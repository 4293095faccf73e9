"""Parse what a user types as a stream source: a Twitch login, a twitch.tv URL or a stream URL.

Pure functions; the host allow-list is passed in so that this module never reads settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from allowlist import host_port, url_allowed

LOGIN_RE = re.compile(r"[a-zA-Z0-9_]{3,25}")
TWITCH_VIDEO_PATH_RE = re.compile(r"/videos/(\d{1,20})")
TWITCH_HOSTS = frozenset({"twitch.tv", "www.twitch.tv", "m.twitch.tv"})
URL_SCHEMES = ("http", "https", "hls")
MAX_SOURCE_LENGTH = 500

CHANNEL = "channel"
URL = "url"


class SourceError(ValueError):
    """Raised by `parse_source` / `parse_login` with a message meant for the user."""


@dataclass(frozen=True)
class Source:
    kind: str  # CHANNEL or URL
    value: str  # the lowercase login, or the normalised URL

    @property
    def login(self) -> str | None:
        return self.value if self.kind == CHANNEL else None


def parse_login(text: str) -> str:
    """Return the lowercase Twitch login in `text` (a login or a twitch.tv channel URL)."""
    text = text.strip()
    if LOGIN_RE.fullmatch(text):
        return text.lower()
    login = _login_from_twitch_url(text)
    if login is None:
        raise SourceError(
            f"“{_shorten(text)}” is not a Twitch channel name: use 3 to 25 letters, "
            "digits or underscores, or a link like https://www.twitch.tv/name."
        )
    return login


def parse_source(text: str, allowed_hosts: list[str]) -> Source:
    """Return the `Source` for `text`, or raise `SourceError` saying what is wrong with it."""
    text = text.strip()
    if not text:
        raise SourceError("Enter a Twitch channel name or a stream URL.")
    if len(text) > MAX_SOURCE_LENGTH:
        raise SourceError(f"That is too long for a source ({MAX_SOURCE_LENGTH} characters at most).")
    if LOGIN_RE.fullmatch(text) or _looks_like_twitch(text):
        return Source(CHANNEL, parse_login(text))
    if "://" not in text:
        raise SourceError(
            f"“{_shorten(text)}” is neither a Twitch channel name (3 to 25 letters, digits or "
            "underscores) nor a URL starting with http://, https:// or hls://."
        )
    return Source(URL, _checked_url(text, allowed_hosts))


def parse_vod_source(text: str, allowed_hosts: list[str]) -> str:
    """A past broadcast: a Twitch video link (normalised to https://www.twitch.tv/videos/<id>, as
    the server expects) or an allowed stream URL (an ended HLS playlist); else SourceError."""
    text = text.strip()
    if not text:
        raise SourceError("Enter a link to a past broadcast, like https://www.twitch.tv/videos/123456789.")
    if len(text) > MAX_SOURCE_LENGTH:
        raise SourceError(f"That is too long for a source ({MAX_SOURCE_LENGTH} characters at most).")
    if _looks_like_twitch(text):
        parts = urlsplit(text if "://" in text else "https://" + text)
        found = TWITCH_VIDEO_PATH_RE.fullmatch(parts.path.rstrip("/"))
        if parts.scheme.lower() not in ("http", "https") or not found:
            raise SourceError("A Twitch link to a past broadcast looks like https://www.twitch.tv/videos/123456789.")
        return f"https://www.twitch.tv/videos/{found[1]}"
    if "://" not in text:
        raise SourceError(
            "A past broadcast is a link: https://www.twitch.tv/videos/<number>, or an http://, https:// "
            "or hls:// URL of a recording's playlist."
        )
    return _checked_url(text, allowed_hosts)


def _looks_like_twitch(text: str) -> bool:
    host = urlsplit(text if "://" in text else "https://" + text).netloc.lower()
    return host in TWITCH_HOSTS


def _login_from_twitch_url(text: str) -> str | None:
    parts = urlsplit(text if "://" in text else "https://" + text)
    if parts.scheme.lower() not in ("http", "https") or parts.netloc.lower() not in TWITCH_HOSTS:
        return None
    path = parts.path.strip("/")
    if not LOGIN_RE.fullmatch(path):
        return None  # e.g. /videos/123 or /name/clip/...: only live channels are tracked
    return path.lower()


def _checked_url(text: str, allowed_hosts: list[str]) -> str:
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in text):
        raise SourceError("The URL contains spaces, control characters or backslashes, which are not allowed.")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES:
        raise SourceError("Only http://, https:// and hls:// URLs can be tracked.")
    # Refuse user info outright: "http://127.0.0.1@evil.com/" points at evil.com.
    if "@" in parts.netloc:
        raise SourceError("URLs with a user name or password (an “@” before the host) are not allowed.")
    try:
        host = (parts.hostname or "").rstrip(".")
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise SourceError("The URL has an invalid port.") from None
    if not host:
        raise SourceError("The URL has no host.")
    # One check for host and port (allowlist.py), the same the server makes on every request.
    if not url_allowed(text, allowed_hosts):
        raise SourceError(_host_not_allowed(text, allowed_hosts))
    return urlunsplit((scheme, parts.netloc.lower(), parts.path, parts.query, parts.fragment))


def _host_not_allowed(url: str, allowed_hosts: list[str]) -> str:
    host, port = host_port(url)
    if port not in (80, 443):
        host = f"{host}:{port}"
    if not allowed_hosts:
        return f"Streams from {host} are not allowed: this site only tracks Twitch channels (no URL hosts are allowed)."
    return (
        f"Streams from {host} are not allowed; allowed hosts: {', '.join(allowed_hosts)} "
        "(a host without a port means ports 80 and 443)."
    )


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
