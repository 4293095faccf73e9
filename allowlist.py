"""The one host-and-port allow-list check, shared by the webapp (what users may type) and the
processing server (what a job may ask for, and every request its ingest then makes).

An allow-list entry is one of
    "example.com"          that host on the web's default ports only (80, 443)
    "example.com:8181"     that host on that port only
    "*.example.com"        any subdomain of example.com (not example.com itself), default ports
    "*.example.com:8443"   any subdomain, that port
Hosts compare lowercased, without a trailing dot. A port is part of the check because a host
that is fine on 443 (a CDN, loopback's own HLS server) may have an admin API on another port.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def host_port(url: str) -> tuple[str, int]:
    """(host, port) an http(s) URL connects to; `hls://` wraps an http(s) URL (or a bare host,
    meaning https). ValueError when the URL has another scheme, no host or a bad port."""
    inner = url[len("hls://") :] if url.lower().startswith("hls://") else url
    if "://" not in inner and url.lower().startswith("hls://"):
        inner = "https://" + inner
    parts = urlsplit(inner)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"not an http(s) URL: {url[:100]!r}")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise ValueError("the URL has no host")
    port = parts.port  # ValueError on a port out of range or not a number
    return host, port if port is not None else DEFAULT_PORTS[scheme]


def _entry(entry: str) -> tuple[str, int | None]:
    """(host pattern, port or None for the default ports) of one allow-list entry."""
    entry = entry.strip().lower()
    host, sep, port = entry.rpartition(":")
    if sep and port.isdigit() and "]" not in port:
        return host.strip("[]").rstrip("."), int(port)
    return entry.strip("[]").rstrip("."), None


def _host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def url_allowed(url: str, allowed: Iterable[str]) -> bool:
    """True when `url`'s host and port are on the allow-list; False for anything unparsable."""
    try:
        host, port = host_port(url)
    except ValueError:
        return False
    for entry in allowed:
        pattern, allowed_port = _entry(entry)
        ports = (allowed_port,) if allowed_port is not None else tuple(DEFAULT_PORTS.values())
        if _host_matches(pattern, host) and port in ports:
            return True
    return False


def origin_entry(url: str) -> str:
    """The allow-list entry that admits exactly `url`'s host and port, e.g. "127.0.0.1:8181"."""
    host, port = host_port(url)
    return f"{host}:{port}"
