"""Exactly one Discord message per highlight across a receiver outage and a restart of the
webapp itself: the real `python -m webapp` process (its background thread delivers), killed with
SIGKILL while messages wait, started again on the same database; and `manage.py
send_notifications` for a deployment without the background thread."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from contextlib import contextmanager

import pytest
import requests
from discord_receiver import DiscordReceiver
from highlight_reports import highlight_doc
from production import ROOT, isolated_env
from waiting import wait_for

from server.demo.stack import free_port

INGEST = "ingest-token-for-the-restart-test-0123456789"
SETUP = """
from django.contrib.auth.models import User
from webapp.notifications.models import NotificationSettings
from webapp.streams.models import Stream
user = User.objects.create_user("alice", password="correct-horse-battery")
NotificationSettings.objects.create(user=user, webhook_url={url!r})
print(Stream.objects.create(owner=user, source="xqcow", chat_channel="xqcow", state="live").id)
"""


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def receiver():
    receiver = DiscordReceiver()
    yield receiver
    if receiver.httpd.socket.fileno() != -1:
        receiver.stop()


@pytest.fixture
def site(tmp_path, receiver):
    """A migrated database with Alice, her live stream and her (loopback) webhook; the env to run on."""
    env = isolated_env(
        tmp_path,
        DJANGO_DEBUG="true",  # loopback webhooks are refused in production
        DJANGO_HTTPS="false",
        INGEST_API_TOKEN=INGEST,
        NOTIFY_LOOPBACK_WEBHOOKS="true",
        NOTIFY_RETRY_MIN_S="0.2",
        NOTIFY_RETRY_MAX_S="0.5",
        JOB_SYNC_INTERVAL_S="0.2",
        # A message in flight when the webapp is killed is due again after 3 x the send timeout.
        NOTIFY_TIMEOUT_S="1",
        EMAIL_TIMEOUT="1",
    )
    manage(env, "migrate", "--noinput", "-v", "0")
    stream_id = int(manage(env, "shell", "-c", SETUP.format(url=receiver.url)).split()[-1])
    return env, stream_id


@contextmanager
def webapp(env: dict[str, str], log_path):
    port = free_port()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "webapp", f"--listen=127.0.0.1:{port}"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def answers():
        try:
            return requests.get(f"{url}/accounts/login/", timeout=2).status_code == 200
        except requests.ConnectionError:
            assert process.poll() is None, log_path.read_text()
            return False

    try:
        assert wait_for(answers, timeout=60), log_path.read_text()
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


def report(url: str, stream_id: int, doc: dict) -> int:
    r = requests.post(
        f"{url}/api/v1/streams/{stream_id}/highlights",
        data=json.dumps(doc),
        headers={"Authorization": f"Bearer {INGEST}", "Content-Type": "application/json"},
        timeout=10,
    )
    return r.status_code


def test_one_message_per_highlight_across_an_outage_and_a_killed_webapp(tmp_path, site, receiver):
    env, stream_id = site
    log = tmp_path / "webapp.log"
    receiver.stop()  # Discord is unreachable
    with webapp(env, log) as (process, url):
        assert [report(url, stream_id, highlight_doc(n, "9")) for n in (1, 2, 1)] == [201, 201, 200]
        retrying = wait_for(lambda: "not sent (could not reach the webhook" in log.read_text(), timeout=20)
        assert retrying, log.read_text()
        process.send_signal(signal.SIGKILL)  # a crash: nothing is flushed or handed over
        process.wait(timeout=10)
    receiver.start()  # Discord is back, on the same address
    with webapp(env, log) as (process, url):
        # The processing server re-reports a highlight after its own restart.
        assert report(url, stream_id, highlight_doc(2, "9")) == 200
        assert report(url, stream_id, highlight_doc(3, "9")) == 201
        assert wait_for(lambda: len(receiver.messages) >= 3, timeout=30), log.read_text()
        wait_for(lambda: len(receiver.messages) > 3, timeout=2)  # give a duplicate time to show up
    assert sorted(receiver.titles()) == [f"New highlight on xqcow at 0:0{n}:00" for n in (1, 2, 3)]
    assert "tok3n" not in log.read_text()


def test_send_notifications_delivers_when_the_background_thread_is_off(tmp_path, site, receiver):
    env, stream_id = site
    env = {**env, "JOB_SYNC_INTERVAL_S": "0"}
    with webapp(env, tmp_path / "webapp.log") as (_, url):
        assert report(url, stream_id, highlight_doc(1, "9")) == 201
        assert not wait_for(lambda: receiver.messages, timeout=1.0), "no thread: nothing sent by the webapp"
    assert "1 sent, 0 to retry later" in manage(env, "send_notifications")
    assert "0 sent, 0 to retry later" in manage(env, "send_notifications")
    assert len(receiver.messages) == 1
