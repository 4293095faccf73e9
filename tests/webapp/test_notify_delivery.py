"""Each new highlight reaches the user's Discord webhook (a loopback receiver speaking Discord's
webhook API) and e-mail exactly once: also when the server reports it twice, while the receiver
is down or rate-limits, and when the delivery worker is replaced by a new one. A deleted webhook
(404) is stopped, not retried forever; the webhook's token never reaches a log line."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

from discord_receiver import TOKEN, DiscordReceiver
from django.core import mail
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone
from highlight_reports import highlight_doc

from webapp.notifications.models import Delivery, NotificationSettings
from webapp.notifications.worker import Worker, claim_lease
from webapp.streams.models import Highlight
from webapp.test import BaseTestCase, closed_port_url

INGEST = "ingest-token-for-notification-tests"
SITE = "https://highlights.example.com"


@override_settings(
    INGEST_API_TOKEN=INGEST,
    NOTIFY_LOOPBACK_WEBHOOKS=True,
    NOTIFY_RETRY_MIN_S=0.05,
    NOTIFY_RETRY_MAX_S=0.2,
    NOTIFY_TIMEOUT_S=2.0,
    WEBAPP_SITE_URL=SITE,
)
class DeliveryTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.receiver = DiscordReceiver()
        self.addCleanup(self.receiver.stop)
        self.alice.email = "alice@example.com"
        self.alice.save()
        NotificationSettings.objects.create(user=self.alice, webhook_url=self.receiver.url, email_enabled=True)
        self.server = Client(enforce_csrf_checks=True)

    def report(self, doc):
        r = self.server.post(
            f"/api/v1/streams/{self.stream.id}/highlights",
            json.dumps(doc),
            content_type="application/json",
            headers={"Authorization": f"Bearer {INGEST}"},
        )
        self.assertIn(r.status_code, (200, 201), r.content)
        return r

    def drain(self, worker, done, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not done():
            self.assertLess(time.monotonic(), deadline, "not delivered in time")
            worker.run_once()
            time.sleep(0.02)

    def pending(self):
        return Delivery.objects.filter(state=Delivery.PENDING).count()


class ExactlyOnceTestCase(DeliveryTestCase):
    def test_a_highlight_reported_twice_is_sent_once_to_discord_and_once_by_email(self):
        self.assertEqual(self.report(highlight_doc(1)).status_code, 201)
        self.assertEqual(self.report(highlight_doc(1)).status_code, 200)  # the server resent it
        self.assertEqual(Delivery.objects.count(), 2)
        worker = Worker()
        self.drain(worker, lambda: self.pending() == 0)
        for _ in range(3):
            worker.run_once()
        self.assertEqual(len(self.receiver.messages), 1)
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["alice@example.com"])
        self.assertIn("chat 4.2x its usual rate", mail.outbox[0].body)
        self.assertEqual(set(Delivery.objects.values_list("state", flat=True)), {Delivery.SENT})

    def test_the_message_has_title_score_reasons_thumbnail_and_a_link_to_the_stream_page(self):
        self.report(highlight_doc(3))
        self.drain(Worker(), lambda: self.receiver.messages)
        highlight = Highlight.objects.get()
        message = self.receiver.messages[0]
        embed = message["embeds"][0]
        self.assertEqual(embed["title"], "New highlight on xqcow at 0:03:00")
        self.assertEqual(embed["description"], "• chat 4.2x its usual rate")
        self.assertEqual(embed["thumbnail"], {"url": "http://127.0.0.1:5000/media/7/3.jpg"})
        self.assertEqual(embed["url"], f"{SITE}/streams/{self.stream.id}/#highlight-{highlight.id}")
        self.assertIn({"name": "Score", "value": "0.81", "inline": True}, embed["fields"])
        self.assertEqual(message["allowed_mentions"], {"parse": []}, "a stream name must never ping @everyone")
        self.assertIn(f"{SITE}/streams/{self.stream.id}/", mail.outbox[0].body)

    def test_the_email_has_an_html_part_with_the_thumbnail_and_escaped_reasons(self):
        reasons = [{"feature": "chat", "value": 1, "text": "<img src=x onerror=alert(1)> said KEKW"}]
        self.report(highlight_doc(2, reasons=reasons))
        self.drain(Worker(), lambda: mail.outbox)
        html, kind = mail.outbox[0].alternatives[0]
        self.assertEqual(kind, "text/html")
        self.assertIn('<img src="http://127.0.0.1:5000/media/7/2.jpg"', html)
        self.assertIn("<li>&lt;img src=x onerror=alert(1)&gt; said KEKW</li>", html)
        self.assertIn(f'<a href="{SITE}/streams/{self.stream.id}/#highlight-', html)

    @override_settings(WEBAPP_SITE_URL=None)
    def test_without_the_sites_public_address_the_message_has_no_link(self):
        self.report(highlight_doc(4))
        self.drain(Worker(), lambda: self.receiver.messages)
        self.assertNotIn("url", self.receiver.messages[0]["embeds"][0])
        self.assertNotIn("http://127.0.0.1:8000", json.dumps(self.receiver.messages[0]))

    def test_a_highlight_whose_notifications_cannot_be_queued_is_not_stored_so_the_resend_queues_them(self):
        # The database refuses the queue row (a trigger plays a full disk): the highlight must go
        # with it, or the server's resend would find it stored and its message would be lost.
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TRIGGER refuse_queue BEFORE INSERT ON notifications_delivery "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        refusing = Client(raise_request_exception=False)
        r = refusing.post(
            f"/api/v1/streams/{self.stream.id}/highlights",
            json.dumps(highlight_doc(1)),
            content_type="application/json",
            headers={"Authorization": f"Bearer {INGEST}"},
        )
        self.assertEqual(r.status_code, 500)
        self.assertFalse(Highlight.objects.exists())
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER refuse_queue")
        self.assertEqual(self.report(highlight_doc(1)).status_code, 201)  # the server's retry
        self.assertEqual(Delivery.objects.count(), 2)

    def test_a_user_without_notification_settings_gets_nothing_queued(self):
        bob_stream = self.bob.streams.create(source="bobchannel", state="live")
        Highlight.objects.create(
            stream=bob_stream,
            key="b-1",
            start_utc=timezone.now(),
            end_utc=timezone.now(),
            start_offset_s=0,
            end_offset_s=10,
            score=0.5,
            clip_url="http://127.0.0.1:5000/media/b.mp4",
        )
        self.assertEqual(Delivery.objects.count(), 0)


class ReceiverTroubleTestCase(DeliveryTestCase):
    def test_messages_queued_during_an_outage_arrive_once_each_in_order_when_it_is_back(self):
        self.receiver.stop()  # connections refused
        worker = Worker()
        for n in range(3):
            self.report(highlight_doc(n))
        worker.run_once()
        self.assertEqual(Delivery.objects.filter(channel="discord", state="pending", attempts=1).count(), 1)
        self.assertIn("could not reach the webhook", Delivery.objects.get(channel="discord", attempts=1).last_error)
        time.sleep(0.3)
        worker.run_once()  # still down: backing off
        self.receiver.start()
        self.drain(worker, lambda: self.pending() == 0)
        self.assertEqual(
            self.receiver.titles(), [f"New highlight on xqcow at {t}" for t in ("0:00:00", "0:01:00", "0:02:00")]
        )

    def test_a_500_is_retried_and_the_message_arrives_once(self):
        self.receiver.plan = [500, 503]
        self.report(highlight_doc(1))
        self.drain(Worker(), lambda: self.pending() == 0)
        self.assertEqual([status for _, status in self.receiver.requests], [500, 503, 200])
        self.assertEqual(len(self.receiver.messages), 1)

    def test_a_429_waits_retry_after_and_holds_back_the_webhooks_other_messages(self):
        self.receiver.plan = [429]
        self.receiver.retry_after_for_plan = 0.4
        self.report(highlight_doc(1))
        self.report(highlight_doc(2))
        worker = Worker()
        started = time.monotonic()
        worker.run_once()
        self.assertEqual(len(self.receiver.requests), 1, "the second message waits for the rate limit too")
        self.drain(worker, lambda: len(self.receiver.messages) == 2)
        self.assertGreaterEqual(time.monotonic() - started, 0.4)
        self.assertEqual(len(self.receiver.requests), 3)

    def test_more_messages_than_discords_rate_limit_all_arrive_once(self):
        self.receiver.limit, self.receiver.window_s = 3, 0.5
        for n in range(7):
            self.report(highlight_doc(n))
        self.drain(Worker(), lambda: self.pending() == 0, timeout=20)
        self.assertEqual(len(self.receiver.messages), 7)
        self.assertEqual(len(set(self.receiver.titles())), 7)

    def test_a_deleted_webhook_404_stops_it_tells_the_user_and_is_not_retried(self):
        self.receiver.plan = [404]
        self.report(highlight_doc(1))
        self.report(highlight_doc(2))
        worker = Worker()
        worker.run_once()
        prefs = NotificationSettings.objects.get(user=self.alice)
        self.assertIn("no longer exists", prefs.webhook_error)
        self.assertEqual(Delivery.objects.filter(channel="discord", state="failed").count(), 2)
        time.sleep(0.3)
        worker.run_once()
        self.report(highlight_doc(3))  # a new highlight: e-mail only
        worker.run_once()
        self.assertEqual(len(self.receiver.requests), 1)
        self.assertFalse(Delivery.objects.filter(channel="discord", highlight__key="7-0003").exists())
        self.client.force_login(self.alice)
        page = self.client.get("/notifications/").content.decode()
        self.assertIn("no longer exists", page)

    @override_settings(NOTIFY_GIVE_UP_AFTER_S=0.5)
    def test_a_message_still_unsent_after_the_give_up_time_is_given_up_with_the_reason(self):
        self.receiver.stop()
        self.addCleanup(self.receiver.start)  # so that the cleanup's stop() finds it running
        self.report(highlight_doc(1))
        worker = Worker()
        deadline = time.monotonic() + 5
        while Delivery.objects.filter(channel="discord", state="pending").exists():
            self.assertLess(time.monotonic(), deadline)
            worker.run_once()
            time.sleep(0.05)
        row = Delivery.objects.get(channel="discord")
        self.assertEqual(row.state, "failed")
        self.assertIn("gave up after", row.last_error)
        self.assertGreater(row.attempts, 1)

    def test_a_webhook_removed_before_sending_cancels_its_message(self):
        self.report(highlight_doc(1))
        NotificationSettings.objects.filter(user=self.alice).update(webhook_url="", email_enabled=False)
        Worker().run_once()
        self.assertEqual(set(Delivery.objects.values_list("state", flat=True)), {"cancelled"})
        self.assertEqual((self.receiver.requests, mail.outbox), ([], []))


class RestartTestCase(DeliveryTestCase):
    def test_a_new_worker_on_the_same_database_delivers_what_the_old_one_could_not(self):
        self.receiver.stop()
        old = Worker()
        for n in range(2):
            self.report(highlight_doc(n))
        old.run_once()
        del old  # the webapp restarts: nothing is kept but the database
        self.receiver.start()
        time.sleep(0.25)  # the longest backoff of these settings
        self.drain(Worker(), lambda: self.pending() == 0)
        self.assertEqual(len(self.receiver.messages), 2)

    def test_a_row_claimed_by_a_worker_that_died_is_sent_once_when_its_lease_ends(self):
        self.report(highlight_doc(1))
        row = Delivery.objects.get(channel="discord")
        claimed = Worker._claim(row.id, row.next_attempt_at)  # a worker claims it, then dies
        self.assertIsNotNone(claimed)
        Worker().run_once()
        self.assertEqual(self.receiver.messages, [], "another worker never sends a claimed row")
        Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))  # lease over
        self.drain(Worker(), lambda: self.receiver.messages)
        self.assertEqual(len(self.receiver.messages), 1)
        self.assertGreaterEqual(claim_lease().total_seconds(), 3 * 2.0, "the lease outlasts a send's timeout")

    def test_two_workers_racing_for_the_same_rows_send_each_message_once(self):
        for n in range(4):
            self.report(highlight_doc(n))
        first, second = Worker(), Worker()
        rows = list(Delivery.objects.filter(channel="discord").values_list("id", "next_attempt_at"))
        # Both read the same due rows; each claim succeeds for one of them only.
        won = [bool(first._claim(i, at)) + bool(second._claim(i, at)) for i, at in rows]
        self.assertEqual(won, [1, 1, 1, 1])


class SecretTestCase(DeliveryTestCase):
    def test_the_webhook_token_never_appears_in_logs_or_errors(self):
        self.receiver.stop()
        NotificationSettings.objects.filter(user=self.alice).update(
            webhook_url=closed_port_url() + f"/api/webhooks/1234567/{TOKEN}"
        )
        self.report(highlight_doc(1))
        # The webapp's loggers do not propagate to the root (settings.LOGGING): watch both.
        with self.assertLogs(level=logging.DEBUG) as logs, self.assertLogs("webapp", logging.DEBUG) as app_logs:
            logging.getLogger("urllib3").setLevel(logging.DEBUG)
            self.addCleanup(logging.getLogger("urllib3").setLevel, logging.NOTSET)
            Worker().run_once()
            NotificationSettings.objects.filter(user=self.alice).update(webhook_url=self.receiver.url)
            self.receiver.start()
            time.sleep(0.1)
            self.drain(Worker(), lambda: self.receiver.messages)
        text = "\n".join(logs.output + app_logs.output)
        self.assertIn("/api/webhooks/1234…/••••", text)
        self.assertIn("HTTP/1.1", text, "urllib3's request lines were logged (redacted)")
        self.assertNotIn(TOKEN, text)
        self.assertNotIn(TOKEN, " ".join(Delivery.objects.values_list("last_error", flat=True)))
