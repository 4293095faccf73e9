"""Discord webhook URLs: which ones a user may save (SSRF), how one is shown once saved (masked),
and how its token is kept out of log lines. Django-free.

A webhook URL is a bearer secret: anyone holding https://discord.com/api/webhooks/<id>/<token>
can post to the channel. It is stored (the worker needs it) but shown only masked after saving,
never written to a log, and never part of an error message (requests' own exception texts name
the URL, so errors are described from their type instead: see `describe_error`).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import requests

# The hosts Discord serves webhooks on (its web app's stable, public-test and canary builds).
DISCORD_WEBHOOK_HOSTS = frozenset(
    {
        "discord.com",
        "discordapp.com",
        "ptb.discord.com",
        "canary.discord.com",
        "ptb.discordapp.com",
        "canary.discordapp.com",
    }
)
# Loopback receivers, accepted only with NOTIFY_LOOPBACK_WEBHOOKS (tests, development).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# /api/webhooks/<id>/<token>, optionally with an API version (/api/v10/webhooks/...).
_PATH = re.compile(r"/api(?:/v\d{1,2})?/webhooks/(?P<id>\d{1,25})/(?P<token>[A-Za-z0-9_-]{1,200})/?")
_ANY_WEBHOOK_PATH = re.compile(r"(/webhooks/\d{1,4})\d*/[A-Za-z0-9_-]+")


class WebhookURLError(ValueError):
    """The text says, in words, why a URL is not accepted."""


def check_webhook_url(url: str, allow_loopback: bool = False) -> str:
    """The webhook URL to store (trailing slash removed), or WebhookURLError saying why not.

    Production accepts https on Discord's own webhook hosts, on the default port, with nothing
    but the webhook's path: no user name, query or fragment, so the request can go nowhere else.
    `allow_loopback` also accepts http(s) on a loopback address and any port (a local receiver).
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookURLError("That is not a valid URL.") from None
    host = (parts.hostname or "").rstrip(".").lower()
    loopback = allow_loopback and host in LOOPBACK_HOSTS and parts.scheme in ("http", "https")
    if not loopback:
        if parts.scheme != "https":
            raise WebhookURLError("A Discord webhook URL starts with https://.")
        if host not in DISCORD_WEBHOOK_HOSTS or port not in (None, 443):
            raise WebhookURLError(
                "Only Discord webhook URLs are accepted (https://discord.com/api/webhooks/…): "
                "copy it from the channel's Integrations › Webhooks › Copy Webhook URL."
            )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise WebhookURLError("A Discord webhook URL has no user name, query or fragment.")
    if not _PATH.fullmatch(parts.path):
        raise WebhookURLError("That is not a webhook URL: its path should be /api/webhooks/<number>/<token>.")
    return url.rstrip("/")


def is_allowed(url: str, allow_loopback: bool) -> bool:
    try:
        check_webhook_url(url, allow_loopback)
    except WebhookURLError:
        return False
    return True


def mask(url: str) -> str:
    """How a saved webhook URL is shown and logged: https://discord.com/api/webhooks/1234…/••••."""
    parts = urlsplit(url)
    match = _PATH.fullmatch(parts.path)
    if not match:
        return f"{parts.scheme}://{parts.netloc}/…"
    return f"{parts.scheme}://{parts.netloc}/api/webhooks/{match['id'][:4]}…/••••"


def redact(text: str) -> str:
    """`text` with every webhook id shortened and token replaced, e.g. in a library's log line."""
    return _ANY_WEBHOOK_PATH.sub(r"\1…/••••", text)


def describe_error(exc: BaseException) -> str:
    """Words for a failed request that never quote the exception (whose text holds the URL)."""
    if isinstance(exc, requests.Timeout):
        return "no answer in time (timed out)"
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS connection failed"
    if isinstance(exc, requests.ConnectionError):
        return "could not connect"
    return f"the request failed ({type(exc).__name__})"


class RedactWebhookTokens(logging.Filter):
    """Rewrites log records so that no webhook token reaches a handler.

    Attached to urllib3's connection-pool logger, whose DEBUG lines name every request's path
    ("POST /api/webhooks/<id>/<token>?wait=true HTTP/1.1" 204), for anyone who turns DEBUG on.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
