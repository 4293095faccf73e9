"""The signed-in user's notifications page: settings, the "send a test" button, recent messages."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from webapp.notifications import content, senders
from webapp.notifications.forms import NotificationSettingsForm
from webapp.notifications.models import Delivery, NotificationSettings
from webapp.notifications.webhooks import is_allowed
from webapp.notifications.worker import stop_webhook

log = logging.getLogger(__name__)
RECENT = 10


def _prefs(request: HttpRequest) -> NotificationSettings:
    prefs, _ = NotificationSettings.objects.select_related("user").get_or_create(user=request.user)
    return prefs


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    prefs = _prefs(request)
    form = NotificationSettingsForm(prefs, request.POST or None)
    if request.method == "POST" and form.is_valid():
        for line in form.save():
            messages.success(request, line)
        return redirect("notifications")
    recent = (
        Delivery.objects.filter(highlight__stream__owner=request.user)
        .select_related("highlight__stream")
        .order_by("-id")[:RECENT]
    )
    ctx = {"form": form, "prefs": prefs, "recent": recent, "site_url": settings.WEBAPP_SITE_URL}
    return render(request, "notifications/settings.html", ctx)


@require_POST
@login_required
def send_test(request: HttpRequest) -> HttpResponse:
    """Send a test message now, to each channel that is set up, and say how it went."""
    prefs = _prefs(request)
    if not prefs.webhook_url and not prefs.email_active:
        messages.error(request, "Nothing to test: save a Discord webhook URL or turn e-mails on first.")
        return redirect("notifications")
    if prefs.webhook_url:
        if not is_allowed(prefs.webhook_url, settings.NOTIFY_LOOPBACK_WEBHOOKS):
            messages.error(request, "The saved webhook is not a Discord webhook URL: paste a new one.")
        else:
            outcome = senders.post_webhook(
                prefs.webhook_url, content.discord_test_payload(), settings.NOTIFY_TEST_TIMEOUT_S
            )
            _say(request, "Discord", outcome)
            if outcome.kind == senders.GONE:
                stop_webhook(prefs, outcome.detail)
            elif outcome.kind == senders.SENT and prefs.webhook_error:
                # It works again (e.g. a token fixed on Discord's side): use it again.
                NotificationSettings.objects.filter(pk=prefs.pk).update(webhook_error="")
    if prefs.email_active:
        _say(request, f"E-mail to {prefs.user.email}", senders.send_email(prefs.user.email, *content.email_test()))
    return redirect("notifications")


def _say(request: HttpRequest, where: str, outcome: senders.Outcome) -> None:
    if outcome.kind == senders.SENT:
        messages.success(request, f"{where}: the test message was {outcome.detail}.")
    elif outcome.kind == senders.RETRY:
        messages.warning(request, f"{where}: the test message was not sent: {outcome.detail}. Try again later.")
    else:
        messages.error(request, f"{where}: the test message was not sent: {outcome.detail}")
