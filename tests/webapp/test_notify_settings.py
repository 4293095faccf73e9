"""The notifications page: a Discord webhook URL is accepted only on Discord's webhook hosts (a
loopback receiver only where tests allow it, never in production), shown masked once saved and
never again in full; e-mail on/off; "send a test" (POST + CSRF) says how it went in words; every
view is the signed-in user's own."""

from __future__ import annotations

import subprocess
import sys

from discord_receiver import TOKEN, WEBHOOK_ID, DiscordReceiver
from django.core import mail
from django.test import Client, SimpleTestCase, override_settings
from production import ROOT, isolated_env

from appsecrets import new_secrets
from webapp.notifications.models import Delivery, NotificationSettings
from webapp.notifications.webhooks import WebhookURLError, check_webhook_url, mask, redact
from webapp.streams.models import Highlight
from webapp.test import BaseTestCase, closed_port_url

DISCORD = f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{TOKEN}"


class WebhookURLRulesTestCase(SimpleTestCase):
    def test_discords_webhook_hosts_are_accepted(self):
        for host in ["discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com", "canary.discordapp.com"]:
            with self.subTest(host=host):
                url = f"https://{host}/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
                self.assertEqual(check_webhook_url(url + "/"), url)
        self.assertTrue(check_webhook_url(f"https://discord.com/api/v10/webhooks/{WEBHOOK_ID}/{TOKEN}"))

    def test_anything_that_could_reach_another_host_or_port_is_refused_in_words(self):
        refused = {
            f"http://discord.com/api/webhooks/{WEBHOOK_ID}/{TOKEN}": "starts with https://",
            f"https://discord.com.evil.example/api/webhooks/{WEBHOOK_ID}/{TOKEN}": "Only Discord webhook URLs",
            f"https://evil.example/api/webhooks/{WEBHOOK_ID}/{TOKEN}": "Only Discord webhook URLs",
            f"https://discord.com@evil.example/api/webhooks/{WEBHOOK_ID}/{TOKEN}": "Only Discord webhook URLs",
            f"https://evil.example@discord.com/api/webhooks/{WEBHOOK_ID}/{TOKEN}": "no user name",
            f"https://discord.com:8443/api/webhooks/{WEBHOOK_ID}/{TOKEN}": "Only Discord webhook URLs",
            f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{TOKEN}?thread_id=1": "no user name, query",
            "https://discord.com/api/users/@me": "its path should be /api/webhooks/",
            f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{TOKEN}/../../users": "its path should be",
            f"http://127.0.0.1:9/api/webhooks/{WEBHOOK_ID}/{TOKEN}": "starts with https://",
            f"https://localhost/api/webhooks/{WEBHOOK_ID}/{TOKEN}": "Only Discord webhook URLs",
            "https://discord.com:99999/x": "not a valid URL",
        }
        for url, words in refused.items():
            with self.subTest(url=url), self.assertRaisesRegex(WebhookURLError, words):
                check_webhook_url(url)

    def test_loopback_is_accepted_only_when_allowed_and_still_only_on_loopback(self):
        url = f"http://127.0.0.1:8123/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
        self.assertEqual(check_webhook_url(url, allow_loopback=True), url)
        with self.assertRaises(WebhookURLError):
            check_webhook_url(f"http://10.0.0.1:8123/api/webhooks/{WEBHOOK_ID}/{TOKEN}", allow_loopback=True)

    def test_the_masked_form_keeps_the_host_and_four_digits_and_never_the_token(self):
        self.assertEqual(mask(DISCORD), "https://discord.com/api/webhooks/1122…/••••")
        line = f'"POST /api/webhooks/{WEBHOOK_ID}/{TOKEN}?wait=true HTTP/1.1" 204'
        self.assertEqual(redact(line), '"POST /api/webhooks/1122…/••••?wait=true HTTP/1.1" 204')


class SettingsPageTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.login()

    def save(self, client=None, **data):
        form = {"webhook_url": "", "email": "", **data}
        return (client or self.client).post("/notifications/", form, follow=True)

    def test_a_saved_webhook_is_shown_masked_and_never_in_full_again(self):
        page = self.save(webhook_url=DISCORD).content.decode()
        self.assertIn("Saved the webhook https://discord.com/api/webhooks/1122…/••••", page)
        self.assertEqual(NotificationSettings.objects.get(user=self.alice).webhook_url, DISCORD)
        again = self.client.get("/notifications/").content.decode()
        for text in (page, again):
            self.assertNotIn(TOKEN, text)
            self.assertNotIn(WEBHOOK_ID, text)
        self.assertIn("https://discord.com/api/webhooks/1122…/••••", again)

    def test_an_empty_field_keeps_the_saved_webhook_and_remove_deletes_it(self):
        self.save(webhook_url=DISCORD)
        self.save(email_enabled="on", email="alice@example.com")
        prefs = NotificationSettings.objects.get(user=self.alice)
        self.assertEqual((prefs.webhook_url, prefs.email_enabled), (DISCORD, True))
        self.assertIn("The webhook was removed.", self.save(remove_webhook="on").content.decode())
        self.assertEqual(NotificationSettings.objects.get(user=self.alice).webhook_url, "")

    def test_a_refused_url_is_explained_and_not_echoed_back(self):
        bad = f"https://evil.example/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
        page = self.save(webhook_url=bad).content.decode()
        self.assertIn("Only Discord webhook URLs are accepted", page)
        self.assertNotIn(TOKEN, page)
        self.assertEqual(NotificationSettings.objects.get(user=self.alice).webhook_url, "")

    def test_loopback_receivers_are_refused_unless_the_test_setting_allows_them(self):
        loopback = f"http://127.0.0.1:8123/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
        self.assertIn("starts with https://", self.save(webhook_url=loopback).content.decode())
        with override_settings(NOTIFY_LOOPBACK_WEBHOOKS=True):
            self.assertIn(
                "Saved the webhook http://127.0.0.1:8123/api/webhooks/1122…/••••",
                self.save(webhook_url=loopback).content.decode(),
            )

    def test_email_needs_an_address(self):
        page = self.save(email_enabled="on").content.decode()
        self.assertIn("Give the address the e-mails should go to.", page)
        self.assertFalse(NotificationSettings.objects.get(user=self.alice).email_enabled)

    def test_each_user_sees_and_changes_only_their_own_settings_and_messages(self):
        self.save(webhook_url=DISCORD)
        highlight = Highlight.objects.create(
            stream=self.stream,
            key="a-1",
            start_utc="2026-11-30T07:00:00Z",
            end_utc="2026-11-30T07:00:10Z",
            start_offset_s=0,
            end_offset_s=10,
            score=0.9,
            clip_url="http://127.0.0.1:5000/media/a.mp4",
        )
        self.assertEqual(Delivery.objects.filter(highlight=highlight).count(), 1)
        bob = Client()
        bob.force_login(self.bob)
        page = bob.get("/notifications/").content.decode()
        self.assertNotIn("1122", page)
        self.assertNotIn("xqcow", page)
        self.assertIn("no webhook saved", page)
        self.save(client=bob, remove_webhook="on")
        self.assertEqual(NotificationSettings.objects.get(user=self.alice).webhook_url, DISCORD)

    def test_pages_need_a_login_and_changes_need_post_and_csrf(self):
        anonymous = Client()
        self.assertEqual(anonymous.get("/notifications/").status_code, 302)
        self.assertEqual(anonymous.post("/notifications/test/").status_code, 302)
        self.assertEqual(self.client.get("/notifications/test/").status_code, 405)
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(self.alice)
        self.assertEqual(strict.post("/notifications/", {"webhook_url": DISCORD}).status_code, 403)
        self.assertEqual(strict.post("/notifications/test/").status_code, 403)
        self.assertFalse(NotificationSettings.objects.filter(user=self.alice, webhook_url=DISCORD).exists())
        page = strict.get("/notifications/").content.decode()
        self.assertEqual(page.count('name="csrfmiddlewaretoken"'), 3)  # the log-out, test and settings forms


@override_settings(NOTIFY_LOOPBACK_WEBHOOKS=True, NOTIFY_TEST_TIMEOUT_S=2.0)
class SendTestButtonTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.login()
        self.receiver = DiscordReceiver()
        self.addCleanup(self.receiver.stop)
        self.prefs = NotificationSettings.objects.create(user=self.alice, webhook_url=self.receiver.url)

    def press(self):
        return self.client.post("/notifications/test/", follow=True).content.decode()

    def test_a_test_message_reaches_the_webhook_and_the_page_says_so(self):
        self.assertIn("Discord: the test message was accepted (HTTP 200).", self.press())
        self.assertEqual(self.receiver.messages[0]["content"], "Test message from Stream highlights")

    def test_a_deleted_webhook_is_reported_and_stopped(self):
        self.receiver.plan = [404]
        page = self.press()
        self.assertIn("Discord: the test message was not sent: Discord says this webhook no longer exists", page)
        self.assertIn("Stopped: Discord says", page)
        self.assertIn("no longer exists", NotificationSettings.objects.get(pk=self.prefs.pk).webhook_error)

    def test_a_receiver_that_is_down_or_rate_limits_is_reported_in_words(self):
        NotificationSettings.objects.filter(pk=self.prefs.pk).update(
            webhook_url=closed_port_url() + f"/api/webhooks/{WEBHOOK_ID}/{TOKEN}"
        )
        page = self.press()
        self.assertIn("could not reach the webhook: could not connect. Try again later.", page)
        self.assertNotIn(TOKEN, page)
        NotificationSettings.objects.filter(pk=self.prefs.pk).update(webhook_url=self.receiver.url)
        self.receiver.plan = [429]
        self.assertIn("rate-limited by Discord for 0.3 s", self.press())

    def test_the_test_email_goes_through_djangos_mail_backend(self):
        self.alice.email = "alice@example.com"
        self.alice.save()
        NotificationSettings.objects.filter(pk=self.prefs.pk).update(webhook_url="", email_enabled=True)
        self.assertIn("E-mail to alice@example.com: the test message was handed to the mail server.", self.press())
        self.assertEqual([m.to for m in mail.outbox], [["alice@example.com"]])
        self.assertEqual(self.receiver.requests, [])

    def test_with_nothing_set_up_it_says_what_to_do(self):
        NotificationSettings.objects.filter(pk=self.prefs.pk).update(webhook_url="")
        self.assertIn("Nothing to test: save a Discord webhook URL or turn e-mails on first.", self.press())


def start_refused(tmp_path, **settings) -> str:
    """`manage.py check` in production with `settings`: it must fail; its stderr."""
    env = isolated_env(tmp_path, **new_secrets(), **settings)
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    return done.stderr


def test_production_refuses_to_start_with_loopback_webhooks_allowed(tmp_path):
    stderr = start_refused(tmp_path, NOTIFY_LOOPBACK_WEBHOOKS="true")
    assert "ImproperlyConfigured: NOTIFY_LOOPBACK_WEBHOOKS is for tests and development" in stderr


def test_a_site_address_without_its_scheme_is_refused_at_start(tmp_path):
    stderr = start_refused(tmp_path, WEBAPP_SITE_URL="highlights.example.com")
    assert "WEBAPP_SITE_URL='highlights.example.com': give the whole address" in stderr
