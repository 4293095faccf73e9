"""A processing server that accepts connections and never answers must not take the webapp down:
pages do not call it (waiting streams are retried by a background thread), and the calls that
must (add, delete) give up quickly, then not at all while the circuit breaker is open.

The first test runs the webapp as `bash run.sh` does (waitress, 8 threads, a SQLite file, the
background sync on), with ten users whose streams wait for the hung server."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.test import override_settings
from django.utils import timezone

from server.demo.stack import ROOT, Stack, free_port
from webapp.lib import processing
from webapp.streams.models import Stream
from webapp.streams.sync import sync_once
from webapp.test import BaseTestCase

USERS = 10


class HungServer:
    """Accepts every connection on loopback, reads nothing and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)  # held open, unanswered

    def close(self) -> None:
        self.sock.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture
def hung():
    server = HungServer()
    yield server
    server.close()


MAKE_USERS = """
import json
from datetime import timedelta
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from webapp.streams.models import Stream
out = []
for i in range({users}):
    user = User.objects.create_user(f"user{{i}}", password="correct-horse-42")
    stream = Stream.objects.create(owner=user, source=f"channel_{{i}}", state=Stream.WAITING,
                                   job_attempt_at=timezone.now() - timedelta(minutes=1))
    session = SessionStore()
    session[SESSION_KEY], session[HASH_SESSION_KEY] = str(user.pk), user.get_session_auth_hash()
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]  # a session names the backend it came from
    session.save()
    out.append([session.session_key, stream.id])
print(json.dumps(out))
"""


@pytest.fixture
def webapp(tmp_path, hung):
    """The webapp as run.sh starts it, its processing server the hung one; yields (url, users)."""
    stack = Stack(tmp_path, webapp_port=free_port(), server_port=free_port())
    env = {**stack.env(), "SERVER_URL": hung.url, "JOB_SYNC_INTERVAL_S": "0.5"}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
    made = subprocess.run(
        [*manage, "shell", "-c", MAKE_USERS.format(users=USERS)],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    users = json.loads(made.stdout.strip().splitlines()[-1])
    with open(tmp_path / "webapp.log", "wb") as log:
        process = subprocess.Popen(stack.commands()["webapp"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(stack.webapp_url + "/accounts/login/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, (tmp_path / "webapp.log").read_text()
            time.sleep(0.2)
        yield stack.webapp_url, users
    finally:
        process.terminate()
        process.wait(timeout=30)


def timed_get(url: str, session_key: str | None = None) -> tuple[float, int]:
    started = time.monotonic()
    response = requests.get(
        url, cookies={"sessionid": session_key} if session_key else {}, timeout=30, allow_redirects=False
    )
    return time.monotonic() - started, response.status_code


@pytest.mark.timeout(180)
def test_ten_users_with_waiting_streams_and_a_hung_server_do_not_slow_any_page(webapp, hung):
    base, users = webapp
    pages = [
        (f"{base}{path}", key)
        for key, stream_id in users
        for path in ("/streams/status.json", f"/streams/{stream_id}/status.json", "/", f"/streams/{stream_id}/")
    ]
    with ThreadPoolExecutor(max_workers=len(pages)) as pool:
        polls = [pool.submit(timed_get, url, key) for url, key in pages]
        time.sleep(0.3)  # the polls are in flight (before the fix: each held a thread for 10 s)
        login_s, login_status = timed_get(base + "/accounts/login/")
        results = [poll.result() for poll in polls]
    print(
        f"login page {login_s:.2f} s; slowest of {len(results)} pages {max(r[0] for r in results):.2f} s; "
        f"connections to the hung server {len(hung.connections)}"
    )
    assert login_status == 200 and login_s < 2.0, f"the login page took {login_s:.1f} s"
    assert all(status == 200 for _, status in results), sorted({status for _, status in results})  # 302: logged out
    slowest = max(seconds for seconds, _ in results)
    assert slowest < 5.0, f"a page took {slowest:.1f} s"
    # Only the background sync called the hung server: one stream per round, until the breaker opened.
    assert len(hung.connections) <= processing.BREAKER_FAILURES, len(hung.connections)


class HungServerCallsTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.hung = HungServer()
        self.addCleanup(self.hung.close)
        for name in ("one", "two"):
            Stream.objects.create(owner=self.bob, source=name, state=Stream.WAITING, job_attempt_at=timezone.now())

    def test_the_background_sync_gives_up_quickly_then_stops_calling_while_the_breaker_is_open(self):
        with override_settings(SERVER_URL=self.hung.url):
            for _attempt in range(processing.BREAKER_FAILURES):
                started = time.monotonic()
                self.assertEqual(sync_once(force=True)["waiting"], 2, "one unreachable call is enough per round")
                self.assertLess(time.monotonic() - started, processing.TIMEOUT[1] + 2)
            self.assertTrue(processing.breaker().is_open)
            started = time.monotonic()
            sync_once(force=True)
            self.assertLess(time.monotonic() - started, 2.0)
        self.assertEqual(len(self.hung.connections), processing.BREAKER_FAILURES)
        self.assertTrue(any("is not answering" in s.last_error for s in Stream.objects.filter(owner=self.bob)))

    def test_adding_a_stream_while_the_breaker_is_open_saves_it_waiting_at_once(self):
        self.login(self.bob)
        with override_settings(SERVER_URL=self.hung.url):
            for _ in range(processing.BREAKER_FAILURES):
                sync_once(force=True)
            started = time.monotonic()
            response = self.client.post("/", {"source": "shroud"}, follow=True)
        self.assertLess(time.monotonic() - started, 2.0, "well under the 3 s read timeout: no call was made")
        self.assertContains(response, "the processing server is not reachable right now")
        self.assertEqual(Stream.objects.get(source="shroud").state, Stream.WAITING)
        self.assertEqual(len(self.hung.connections), processing.BREAKER_FAILURES)

    def test_a_server_that_answers_again_closes_the_breaker(self):
        from webapp.test import FakeProcessingServer

        clock = [0.0]
        with FakeProcessingServer() as server, override_settings(SERVER_URL=server.url):
            circuit = processing.breaker()
            circuit._clock = lambda: clock[0]  # the test's own clock: no 15 s sleep
            for _ in range(processing.BREAKER_FAILURES):
                circuit.failure()
            self.assertEqual(sync_once(force=True)["waiting"], 2)
            self.assertEqual(server.requests, [], "open: no call")
            clock[0] += processing.BREAKER_RESET_S
            self.assertEqual(sync_once(force=True)["started"], 2)
        self.assertFalse(circuit.is_open)
