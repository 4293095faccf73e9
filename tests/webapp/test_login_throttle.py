"""Log-in throttling through the real log-in form (issue 11, finding 4: 60 wrong passwords, then
the right one, went through): after LOGIN_FAILURE_LIMIT wrong passwords for a user name from one
address even the right password is refused, in words, until LOGIN_LOCKOUT_S has passed."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings

from webapp.test import PASSWORD, BaseTestCase

LOCKED = "Too many failed log-ins for this user name from your address. Try again in 15 minutes."


class LoginThrottleTestCase(BaseTestCase):
    def setUp(self):
        cache.clear()
        self.client = Client(enforce_csrf_checks=False)

    def log_in(self, password, username="alice", address="10.0.0.1", client=None):
        return (client or self.client).post(
            "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address
        )

    def fail(self, times, **kwargs):
        for _ in range(times):
            r = self.log_in("wrong-password", **kwargs)
            self.assertEqual(r.status_code, 200)

    def assertLoggedIn(self, r):
        self.assertRedirects(r, "/", fetch_redirect_response=False)

    def test_the_right_password_works_after_a_few_mistakes(self):
        self.fail(settings.LOGIN_FAILURE_LIMIT - 1)
        self.assertLoggedIn(self.log_in(PASSWORD))

    def test_after_the_limit_even_the_right_password_is_refused_in_words(self):
        self.assertEqual(settings.LOGIN_FAILURE_LIMIT, 5)
        self.fail(5)
        r = self.log_in(PASSWORD)
        self.assertContains(r, LOCKED)
        self.assertNotIn("_auth_user_id", self.client.session)
        self.fail(55)
        self.assertContains(self.log_in(PASSWORD), LOCKED)

    def test_a_lockout_is_per_user_name_and_address(self):
        self.fail(5)
        self.assertLoggedIn(self.log_in(PASSWORD, address="10.0.0.2", client=Client()))
        self.assertLoggedIn(self.log_in(PASSWORD, username="bob", client=Client()))
        self.assertContains(self.log_in(PASSWORD, username="ALICE", client=Client()), LOCKED)

    def test_a_success_starts_the_count_again(self):
        self.fail(4)
        self.assertLoggedIn(self.log_in(PASSWORD))
        self.client.logout()
        self.fail(4)
        self.assertLoggedIn(self.log_in(PASSWORD))

    def test_the_lockout_ends_after_its_time(self):
        with override_settings(LOGIN_LOCKOUT_S=1):
            self.fail(5)
            self.assertContains(self.log_in(PASSWORD), "Try again in 1 minute.")
            time.sleep(1.2)
            self.assertLoggedIn(self.log_in(PASSWORD))

    def test_the_admin_log_in_counts_and_obeys_the_same_lockout(self):
        self.alice.is_staff = self.alice.is_superuser = True
        self.alice.save()
        for _ in range(5):
            self.client.post("/admin/login/", {"username": "alice", "password": "nope"}, REMOTE_ADDR="10.0.0.1")
        r = self.client.post(
            "/admin/login/?next=/admin/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
        )
        self.assertEqual(r.status_code, 200, "not logged in: the form is shown again")
        self.assertNotIn("_auth_user_id", self.client.session)
