"""Queue a new highlight's notifications in the transaction that stores it.

The ingest API stores a highlight with `get_or_create`, which creates it and sends `post_save`
inside one atomic block: the highlight and its `Delivery` rows commit together or not at all, and
a highlight the server reports again is not created again, so it is not queued again (the
unique (highlight, channel) constraint stands behind that). The streams app never imports this
app: the receiver is connected in NotificationsConfig.ready().
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.utils import timezone

from webapp.notifications.models import Delivery, NotificationSettings
from webapp.streams.models import Highlight


def channels_for(prefs: NotificationSettings) -> list[str]:
    """The channels a new highlight of this user goes to now."""
    return [
        channel
        for channel, on in ((Delivery.DISCORD, prefs.webhook_active), (Delivery.EMAIL, prefs.email_active))
        if on
    ]


def queue_notifications(highlight: Highlight) -> list[Delivery]:
    """Make the Delivery rows of a newly stored highlight (none if its owner wants none)."""
    owner_id = highlight.stream.owner_id
    prefs = NotificationSettings.objects.select_related("user").filter(user_id=owner_id).first()
    if prefs is None:
        return []
    now = timezone.now()
    rows = [Delivery(highlight=highlight, channel=c, next_attempt_at=now) for c in channels_for(prefs)]
    return Delivery.objects.bulk_create(rows)


def _on_highlight_saved(
    sender: type[Highlight], instance: Highlight, created: bool, raw: bool = False, **_: Any
) -> None:
    if created and not raw:  # raw: loaddata, which restores rows rather than reporting new ones
        queue_notifications(instance)


def connect() -> None:
    post_save.connect(_on_highlight_saved, sender=Highlight, dispatch_uid="notifications.queue")
