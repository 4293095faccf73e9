from django.contrib.auth.models import User
from django.test import Client

from webapp.test import PASSWORD, BaseTestCase


class SignupTestCase(BaseTestCase):
    def test_it_creates_an_account_and_logs_in(self):
        r = self.client.post(
            "/accounts/signup/",
            {"username": "charlie", "password1": PASSWORD, "password2": PASSWORD},
            follow=True,
        )
        self.assertRedirects(r, "/")
        self.assertTrue(User.objects.filter(username="charlie").exists())
        self.assertContains(r, "Welcome, charlie")

    def test_it_rejects_mismatched_passwords(self):
        r = self.client.post(
            "/accounts/signup/",
            {"username": "charlie", "password1": PASSWORD, "password2": PASSWORD + "x"},
        )
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "didn’t match")
        self.assertFalse(User.objects.filter(username="charlie").exists())

    def test_it_rejects_a_taken_username(self):
        r = self.client.post("/accounts/signup/", {"username": "alice", "password1": PASSWORD, "password2": PASSWORD})
        self.assertContains(r, "already exists")

    def test_the_form_has_labels(self):
        r = self.client.get("/accounts/signup/")
        self.assertContains(r, '<label for="id_username">')
        self.assertContains(r, "csrfmiddlewaretoken")


class LoginLogoutTestCase(BaseTestCase):
    def test_it_logs_in_with_username_and_password(self):
        r = self.client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        self.assertRedirects(r, "/")
        self.assertContains(self.client.get("/"), "xqcow")

    def test_it_rejects_a_wrong_password(self):
        r = self.client.post("/accounts/login/", {"username": "alice", "password": "nope"})
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "enter a correct username and password")

    def test_it_logs_out_by_post(self):
        self.login()
        r = self.client.post("/accounts/logout/")
        self.assertRedirects(r, "/accounts/login/")
        self.assertRedirects(self.client.get("/"), "/accounts/login/?next=/")

    def test_it_does_not_log_out_by_get(self):
        self.login()
        self.assertEqual(self.client.get("/accounts/logout/").status_code, 405)
        self.assertEqual(self.client.get("/").status_code, 200)

    def test_logout_without_csrf_token_is_refused(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.alice)
        self.assertEqual(client.post("/accounts/logout/").status_code, 403)


class LoginRequiredTestCase(BaseTestCase):
    def test_every_page_sends_anonymous_visitors_to_log_in(self):
        for url in ["/", f"/streams/{self.stream.id}/", f"/streams/{self.stream.id}/status.json"]:
            with self.subTest(url=url):
                r = self.client.get(url)
                self.assertEqual(r.status_code, 302)
                self.assertTrue(r["Location"].startswith("/accounts/login/"))

    def test_a_superuser_can_use_the_admin(self):
        User.objects.create_superuser("root", "root@example.com", PASSWORD)
        self.client.login(username="root", password=PASSWORD)
        for url in [
            "/admin/",
            "/admin/streams/stream/",
            "/admin/streams/highlight/",
            "/admin/streams/segment/",
            f"/admin/streams/stream/{self.stream.id}/change/",
        ]:
            with self.subTest(url=url):
                self.assertEqual(self.client.get(url).status_code, 200)
