"""A user's notification settings and the durable queue of messages to send.

`Delivery` holds one row per (highlight, channel), made in the transaction that stores a new
highlight (signals.py); its unique constraint means a highlight the server reports twice is
queued once. The worker (delivery.py) claims due rows and marks them sent.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from webapp.notifications.webhooks import mask
from webapp.streams.models import Highlight


class NotificationSettings(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="notification_settings")
    # A secret (anyone with it can post to the channel): shown masked only, never logged.
    webhook_url = models.CharField(max_length=500, blank=True, default="")
    # Why the webhook stopped being used (Discord said it no longer exists); cleared by a new URL.
    webhook_error = models.CharField(max_length=300, blank=True, default="")
    email_enabled = models.BooleanField(default=False)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"notifications of {self.user}"

    @property
    def webhook_masked(self) -> str:
        return mask(self.webhook_url) if self.webhook_url else ""

    @property
    def webhook_active(self) -> bool:
        return bool(self.webhook_url) and not self.webhook_error

    @property
    def email_active(self) -> bool:
        return self.email_enabled and bool(self.user.email)


class Delivery(models.Model):
    DISCORD, EMAIL = "discord", "email"
    CHANNELS = [(DISCORD, "Discord"), (EMAIL, "E-mail")]
    PENDING, SENT, FAILED, CANCELLED = "pending", "sent", "failed", "cancelled"
    STATES = [(PENDING, "Waiting to be sent"), (SENT, "Sent"), (FAILED, "Gave up"), (CANCELLED, "Cancelled")]

    highlight = models.ForeignKey(Highlight, models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=10, choices=CHANNELS)
    state = models.CharField(max_length=10, choices=STATES, default=PENDING)
    # Claiming a row pushes this past the send's timeout (a lease): another worker skips it.
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    retry_delay_s = models.FloatField(default=0.0)  # the last backoff delay (backoff.next_delay)
    last_error = models.CharField(max_length=300, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["highlight", "channel"], name="one_notification_per_highlight_channel"),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="notification_due")]

    def __str__(self) -> str:
        return f"{self.channel} for highlight {self.highlight_id}: {self.state}"
