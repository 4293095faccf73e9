"""Every HTTP request the ingest makes is checked against the source allow-list first.

Checking only the URL a user typed is not enough: streamlink follows redirects and fetches the
playlists and segments a playlist names, on any host and port. So the check sits in the
streamlink session's transport: requests picks an adapter for every request it sends, each
redirect hop included, and the guard refuses before an adapter is picked. A request to a
host:port that is not allowed never leaves the machine; it fails with `HostNotAllowed`, and the
guard remembers it so the job can say why it stopped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import requests
from requests.adapters import BaseAdapter

from allowlist import host_port, url_allowed

log = logging.getLogger(__name__)


class HostNotAllowed(requests.exceptions.InvalidURL):
    """A request to a host:port outside the allow-list was stopped before it was sent."""


class EgressGuard:
    """What one streamlink session may contact, and the first request it refused."""

    def __init__(self, allowed: Iterable[str]):
        self.allowed = tuple(allowed)
        self.refused: str | None = None  # "host:port" (or the scheme) of the first refused request
        self.refused_event = threading.Event()

    def check(self, url: str) -> None:
        if url_allowed(url, self.allowed):
            return
        try:
            host, port = host_port(url)
            target = f"{host}:{port}"
        except ValueError:
            target = url.split(":", 1)[0] + " URL"  # file:, data:, ...: never allowed
        log.warning("ingest: refused a request to %s (not on the source allow-list): %s", target, url[:300])
        if self.refused is None:
            self.refused = target
        self.refused_event.set()
        raise HostNotAllowed(f"{target} is not on the source allow-list")


def guard_session(http: requests.Session, allowed: Iterable[str]) -> EgressGuard:
    """Make `http` (streamlink's `session.http`) check the allow-list before every request.

    requests picks the transport adapter for each request it sends, each redirect hop included
    (`Session.send` -> `get_adapter(url)`), so that is where the check goes; it also covers
    adapters mounted later and non-HTTP schemes (streamlink mounts a file:// adapter).
    """
    guard = EgressGuard(allowed)
    pick = http.get_adapter

    def get_adapter(url: str) -> BaseAdapter:
        guard.check(url)
        return pick(url)

    http.get_adapter = get_adapter  # type: ignore[method-assign]
    return guard
