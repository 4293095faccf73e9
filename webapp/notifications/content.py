"""What a notification says: the Discord webhook body and the e-mail for one highlight (or a test).

Discord's limits are applied here (embed title 256 characters, description 4096, content 2000)
and mentions are switched off: a stream name or reason text can never ping @everyone.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from webapp.streams.models import Highlight
from webapp.streams.templatetags.streams_extras import hms

APP_NAME = "Stream highlights"
NO_MENTIONS: dict[str, list[str]] = {"parse": []}


def site_link(path: str) -> str | None:
    """The absolute URL of `path` on the site's public address (WEBAPP_SITE_URL), else None:
    without it a message carries no link rather than a loopback one the reader cannot open."""
    base = settings.WEBAPP_SITE_URL
    return f"{base}{path}" if base else None


def highlight_link(highlight: Highlight) -> str | None:
    """The stream page, scrolled to the highlight's card."""
    return site_link(reverse("stream", args=[highlight.stream_id]) + f"#highlight-{highlight.id}")


def title(highlight: Highlight) -> str:
    return f"New highlight on {highlight.stream.name} at {hms(highlight.start_offset_s)}"


def reason_lines(highlight: Highlight) -> list[str]:
    reasons = highlight.reasons if isinstance(highlight.reasons, list) else []
    texts = [str(r.get("text") or r.get("feature") or "") if isinstance(r, dict) else str(r) for r in reasons]
    return [text for text in texts if text]


def _http_url(url: str) -> str | None:
    return url if url.startswith(("https://", "http://")) else None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def discord_payload(highlight: Highlight) -> dict[str, Any]:
    """The JSON body of Discord's "Execute Webhook" for a new highlight."""
    link = highlight_link(highlight)
    reasons = reason_lines(highlight)
    embed: dict[str, Any] = {
        "title": _cut(title(highlight), 256),
        "description": _cut("\n".join(f"• {r}" for r in reasons) or "Picked by the model.", 4096),
        "fields": [
            {"name": "Score", "value": f"{highlight.score:.2f}", "inline": True},
            {"name": "Length", "value": f"{highlight.duration_s:.0f} s", "inline": True},
        ],
        "timestamp": highlight.start_utc.isoformat(),
    }
    if link:
        embed["url"] = link
    if thumbnail := _http_url(highlight.thumbnail_url):
        embed["thumbnail"] = {"url": thumbnail}
    if clip := _http_url(highlight.clip_url):
        embed["fields"].append({"name": "Clip", "value": _cut(clip, 1024), "inline": False})
    return {
        "username": APP_NAME,
        "content": _cut(f"New highlight on {highlight.stream.name}" + (f": {link}" if link else ""), 2000),
        "embeds": [embed],
        "allowed_mentions": NO_MENTIONS,
    }


def discord_test_payload() -> dict[str, Any]:
    embed: dict[str, Any] = {
        "title": "Test message",
        "description": "This channel will get a message like this for each new highlight of your streams.",
    }
    if link := site_link(reverse("dashboard")):
        embed["url"] = link
    return {
        "username": APP_NAME,
        "content": f"Test message from {APP_NAME}",
        "embeds": [embed],
        "allowed_mentions": NO_MENTIONS,
    }


def email(highlight: Highlight) -> tuple[str, str, str]:
    """(subject, plain-text body, HTML body) of the e-mail for a new highlight."""
    link = highlight_link(highlight)
    clip, thumbnail = _http_url(highlight.clip_url), _http_url(highlight.thumbnail_url)
    reasons = reason_lines(highlight)
    lines = [title(highlight), "", f"Score: {highlight.score:.2f}", f"Length: {highlight.duration_s:.0f} s"]
    if reasons:
        lines += ["", "Why:", *(f"- {r}" for r in reasons)]
    lines.append("")
    if link:
        lines.append(f"Watch it: {link}")
    if clip:
        lines.append(f"Clip: {clip}")
    if thumbnail:
        lines.append(f"Thumbnail: {thumbnail}")
    lines += ["", f"-- {APP_NAME}. Turn these e-mails off on your notifications page."]
    subject = f"{title(highlight)} (score {highlight.score:.2f})".replace("\n", " ")[:200]
    html = format_html(
        "<h1>{}</h1>{}<p>Score <strong>{}</strong>, {} s</p><ul>{}</ul>{}{}<p>{}</p>",
        title(highlight),
        format_html('<p><img src="{}" alt="" width="320"></p>', thumbnail) if thumbnail else "",
        f"{highlight.score:.2f}",
        f"{highlight.duration_s:.0f}",
        format_html_join("", "<li>{}</li>", ((r,) for r in reasons)),
        format_html('<p><a href="{}">Watch it</a></p>', link) if link else "",
        format_html('<p><a href="{}">The clip</a></p>', clip) if clip else "",
        f"{APP_NAME}. Turn these e-mails off on your notifications page.",
    )
    return subject, "\n".join(lines) + "\n", html


def email_test() -> tuple[str, str]:
    body = f"This address will get an e-mail like this for each new highlight of your streams.\n\n-- {APP_NAME}\n"
    return f"Test message from {APP_NAME}", body
