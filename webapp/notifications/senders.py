"""Send one message, to a Discord webhook or by e-mail, and say what happened as an `Outcome`.

Discord (Execute Webhook): 200 with ?wait=true (204 without) is sent; 429 carries how long to wait
(`retry_after` in the JSON body, also the Retry-After header) and whether the limit is global;
401/403/404 mean the webhook was deleted or its token is wrong: retrying would never succeed;
5xx and network failures are worth retrying. Redirects are never followed (the URL was checked,
where a redirect points was not). Discord has no idempotency key: a message whose answer was
lost is sent again on retry.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from typing import Any

import requests
from django.core.mail import send_mail

from webapp.notifications.webhooks import describe_error

SENT, RETRY, GONE, REFUSED = "sent", "retry", "gone", "refused"
MAX_RETRY_AFTER_S = 3600.0  # a receiver cannot park a message for longer than this per answer


@dataclass(frozen=True)
class Outcome:
    kind: str  # SENT, RETRY (try again later), GONE (the target no longer exists), REFUSED (this message)
    detail: str  # words for the user; never the webhook URL
    retry_after: float | None = None  # seconds the receiver asked for (429), else the backoff decides
    global_limit: bool = False  # the 429 was Discord's global limit: every webhook waits
    pause_s: float = 0.0  # after a success: the webhook's rate-limit bucket is empty for this long


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        doc = response.json()
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def post_webhook(url: str, payload: dict[str, Any], timeout: float) -> Outcome:
    """POST `payload` to the Discord webhook `url` once."""
    try:
        response = requests.post(url, params={"wait": "true"}, json=payload, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return Outcome(RETRY, f"could not reach the webhook: {describe_error(exc)}")
    status = response.status_code
    if status in (200, 204):
        pause = 0.0
        if response.headers.get("X-RateLimit-Remaining") == "0":
            pause = min(_number(response.headers.get("X-RateLimit-Reset-After")) or 0.0, MAX_RETRY_AFTER_S)
        return Outcome(SENT, f"accepted (HTTP {status})", pause_s=pause)
    if status == 429:
        doc = _json(response)
        wait = _number(doc.get("retry_after"))
        if wait is None:
            wait = _number(response.headers.get("Retry-After"))
        is_global = doc.get("global") is True or response.headers.get("X-RateLimit-Global", "").lower() == "true"
        wait = min(wait if wait is not None else 1.0, MAX_RETRY_AFTER_S)
        return Outcome(RETRY, f"rate-limited by Discord for {wait:g} s", retry_after=wait, global_limit=is_global)
    if status in (401, 403, 404):
        return Outcome(
            GONE,
            f"Discord says this webhook no longer exists or its token is wrong (HTTP {status}): "
            "it was deleted, or the URL was copied wrongly. Paste a new webhook URL to start again.",
        )
    if status >= 500:
        return Outcome(RETRY, f"the receiver had a problem (HTTP {status})")
    message = str(_json(response).get("message") or "")[:120]
    return Outcome(REFUSED, f"refused (HTTP {status})" + (f": {message}" if message else ""))


def send_email(address: str, subject: str, body: str, html: str | None = None) -> Outcome:
    """Send one e-mail (plain text, with an HTML alternative if given) through Django's
    EMAIL_BACKEND (SMTP by default, locmem in tests)."""
    try:
        send_mail(subject, body, None, [address], fail_silently=False, html_message=html)
    except smtplib.SMTPRecipientsRefused:
        return Outcome(REFUSED, "the mail server refused the address")
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(RETRY, f"the mail server could not be reached or failed ({type(exc).__name__})")
    return Outcome(SENT, "handed to the mail server")
