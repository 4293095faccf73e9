"""Deliver the queued notifications: claim the due rows, send each once, mark it sent.

Run by the webapp's background thread (one step of webapp/streams/sync.py's loop) and by
`manage.py send_notifications [--loop]`. Any number of workers may run against one database:
a row is claimed by a conditional UPDATE that moves its `next_attempt_at` one lease ahead
(`claim_lease()`: three times the longest send timeout, 30 s by default), so two workers never
send it at the same time, and a worker that dies mid-send leaves a row that is due again when
the lease ends.

Exactly once, except for one window: a crash (or a lost answer) after the receiver took a
message and before the row is marked sent sends it again. Discord's webhooks have no
idempotency key to close that window.

Retries: a receiver that is down (network error, 5xx) is retried after NOTIFY_RETRY_MIN_S,
doubling up to NOTIFY_RETRY_MAX_S (backoff.next_delay, kept per row); a 429 waits what Discord
says (`retry_after`); a message still unsent NOTIFY_GIVE_UP_AFTER_S after its highlight is
given up. 401/403/404 from Discord (webhook deleted) stop the webhook and tell the user on the
notifications page; nothing is retried against it until they paste a new URL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from backoff import next_delay
from webapp.notifications import content, senders
from webapp.notifications.models import Delivery, NotificationSettings
from webapp.notifications.webhooks import is_allowed, mask

log = logging.getLogger(__name__)

BATCH = 50  # rows looked at per round
ROUND_BUDGET_S = 20.0  # a round stops claiming after this long (it shares the job-sync thread)
GLOBAL = "discord:*"


def claim_lease() -> timedelta:
    """How long a claimed row is left to its worker: well past any send's timeout, so a live
    worker always finishes first, and short, so a message in flight in a crash is not held long."""
    return timedelta(seconds=3 * max(settings.NOTIFY_TIMEOUT_S, settings.EMAIL_TIMEOUT or 0))


@dataclass
class Counts:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: int = 0  # due, but its receiver asked us to wait (kept for a later round)

    def total(self) -> int:
        return self.sent + self.retrying + self.failed + self.cancelled


@dataclass
class Worker:
    """One delivery worker. Its only memory is the receivers that asked to wait (rate limits,
    outages), so a new worker on the same database takes over where an old one stopped."""

    clock: Callable[[], float] = time.monotonic
    _paused: dict[str, float] = field(default_factory=dict)  # target -> clock() it may be used again

    def run_once(self) -> Counts:
        """Send every due message once (a batch of at most BATCH); return what happened."""
        counts = Counts()
        started = self.clock()
        now = timezone.now()
        due = (
            Delivery.objects.filter(state=Delivery.PENDING, next_attempt_at__lte=now)
            .order_by("id")
            .values_list("id", "next_attempt_at", "channel", "highlight__stream__owner_id")[:BATCH]
        )
        for row_id, at, channel, owner_id in list(due):
            if self.clock() - started > ROUND_BUDGET_S:
                break
            target = f"{channel}:{owner_id}"
            if self._is_paused(target) or (channel == Delivery.DISCORD and self._is_paused(GLOBAL)):
                counts.skipped += 1
                continue
            delivery = self._claim(row_id, at)
            if delivery is not None:
                self._deliver(delivery, target, counts)
        return counts

    def _is_paused(self, target: str) -> bool:
        until = self._paused.get(target)
        if until is None:
            return False
        if self.clock() >= until:
            del self._paused[target]
            return False
        return True

    def _pause(self, target: str, seconds: float) -> None:
        if seconds > 0:
            self._paused[target] = max(self._paused.get(target, 0.0), self.clock() + seconds)

    @staticmethod
    def _claim(row_id: int, at: datetime) -> Delivery | None:
        """The row, if this worker won it: it must still be pending and due as we read it."""
        now = timezone.now()
        won = Delivery.objects.filter(pk=row_id, state=Delivery.PENDING, next_attempt_at=at).update(
            next_attempt_at=now + claim_lease(), attempts=F("attempts") + 1
        )
        if not won:
            return None
        return Delivery.objects.select_related("highlight__stream__owner").filter(pk=row_id).first()

    def _deliver(self, delivery: Delivery, target: str, counts: Counts) -> None:
        owner = delivery.highlight.stream.owner
        prefs = NotificationSettings.objects.filter(user=owner).first()
        if delivery.channel == Delivery.DISCORD:
            if prefs is None or not prefs.webhook_active:
                return self._finish(delivery, Delivery.CANCELLED, "the webhook was removed or stopped", counts)
            if not is_allowed(prefs.webhook_url, settings.NOTIFY_LOOPBACK_WEBHOOKS):
                return self._finish(delivery, Delivery.CANCELLED, "the saved URL is not a Discord webhook", counts)
            outcome = senders.post_webhook(
                prefs.webhook_url, content.discord_payload(delivery.highlight), settings.NOTIFY_TIMEOUT_S
            )
            where = mask(prefs.webhook_url)
        else:
            if prefs is None or not prefs.email_active:
                return self._finish(delivery, Delivery.CANCELLED, "e-mail notifications were turned off", counts)
            outcome = senders.send_email(owner.email, *content.email(delivery.highlight))
            where = "e-mail"
        self._record(delivery, outcome, target, where, prefs, counts)

    def _record(
        self,
        delivery: Delivery,
        outcome: senders.Outcome,
        target: str,
        where: str,
        prefs: NotificationSettings,
        counts: Counts,
    ) -> None:
        what = f"notification {delivery.pk} (highlight {delivery.highlight_id}) to {where}"
        if outcome.kind == senders.SENT:
            self._pause(target, outcome.pause_s)
            log.info("%s sent after %d attempt(s)", what, delivery.attempts)
            return self._finish(delivery, Delivery.SENT, "", counts)
        if outcome.kind == senders.GONE:
            log.warning("%s: %s; the webhook is stopped", what, outcome.detail)
            stop_webhook(prefs, outcome.detail)
            counts.failed += 1
            return None
        if outcome.kind == senders.REFUSED:
            log.warning("%s refused: %s", what, outcome.detail)
            return self._finish(delivery, Delivery.FAILED, outcome.detail, counts)
        age = (timezone.now() - delivery.highlight.created).total_seconds()
        if age >= settings.NOTIFY_GIVE_UP_AFTER_S:
            log.warning("%s given up after %d attempts: %s", what, delivery.attempts, outcome.detail)
            detail = f"gave up after {delivery.attempts} attempts: {outcome.detail}"
            return self._finish(delivery, Delivery.FAILED, detail, counts)
        if outcome.retry_after is not None:  # the receiver said how long: no need to back off further
            delay, backoff_delay = outcome.retry_after, delivery.retry_delay_s
        else:
            delay = backoff_delay = next_delay(
                delivery.retry_delay_s, settings.NOTIFY_RETRY_MIN_S, settings.NOTIFY_RETRY_MAX_S
            )
        # The whole receiver waits, not only this message: its other waiting messages are due no
        # sooner (also for a worker that starts after a restart), so they still go in order.
        self._pause(GLOBAL if outcome.global_limit else target, delay)
        log.info("%s not sent (%s); next try in %.1f s", what, outcome.detail, delay)
        next_at = timezone.now() + timedelta(seconds=delay)
        Delivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=next_at, retry_delay_s=backoff_delay, last_error=outcome.detail[:300]
        )
        Delivery.objects.filter(
            state=Delivery.PENDING,
            channel=delivery.channel,
            highlight__stream__owner_id=prefs.user_id,
            next_attempt_at__lt=next_at,
        ).update(next_attempt_at=next_at)
        counts.retrying += 1
        return None

    @staticmethod
    def _finish(delivery: Delivery, state: str, detail: str, counts: Counts) -> None:
        fields: dict[str, object] = {"state": state, "last_error": detail[:300]}
        if state == Delivery.SENT:
            fields["sent_at"] = timezone.now()
            counts.sent += 1
        elif state == Delivery.FAILED:
            counts.failed += 1
        else:
            counts.cancelled += 1
        Delivery.objects.filter(pk=delivery.pk).update(**fields)


def stop_webhook(prefs: NotificationSettings, reason: str) -> None:
    """Discord says the webhook is gone: stop using it, say why on the user's page, and give up
    its waiting messages (they would never arrive)."""
    NotificationSettings.objects.filter(pk=prefs.pk).update(webhook_error=reason[:300])
    prefs.webhook_error = reason[:300]
    Delivery.objects.filter(
        highlight__stream__owner_id=prefs.user_id, channel=Delivery.DISCORD, state=Delivery.PENDING
    ).update(state=Delivery.FAILED, last_error=reason[:300])


_background = Worker()


def background_step() -> Counts:
    """One round for the webapp's background thread (its worker keeps its pauses across rounds)."""
    counts = _background.run_once()
    if counts.total():
        log.info(
            "notifications: %d sent, %d to retry, %d given up, %d cancelled",
            counts.sent,
            counts.retrying,
            counts.failed,
            counts.cancelled,
        )
    return counts
