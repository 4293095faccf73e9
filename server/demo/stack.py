"""Run the whole system on this machine: webapp, processing server and the demo channel.

`python -m server.demo.stack` is what the README's first command ends in; the end-to-end test
and the pipeline benchmark start the same stack on free ports in a scratch folder. Each part is
a real process (waitress serving Django, waitress serving Flask, the loopback HLS + IRC servers)
wired together only through the settings the README documents.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from appconfig import DEV_SECRETS, ROOT, setting
from appsecrets import ensure_secrets, new_secrets

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    workdir: Path
    webapp_port: int = 8000
    server_port: int = 5000
    hls_port: int = 8181
    irc_port: int = 6667
    extra_env: dict[str, str] = field(default_factory=dict)
    # The shared secrets both apps get; by default fresh random ones for this stack alone.
    secrets: dict[str, str] = field(default_factory=new_secrets)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def webapp_url(self) -> str:
        return f"http://{HOST}:{self.webapp_port}"

    @property
    def server_url(self) -> str:
        return f"http://{HOST}:{self.server_port}"

    @property
    def server_auth(self) -> dict[str, str]:
        """The header the webapp sends with its calls to the server's API."""
        return {"Authorization": f"Bearer {self.secrets['SERVER_API_TOKEN']}"}

    def env(self) -> dict[str, str]:
        """The settings that wire the parts together (see config.example.py for each)."""
        env = dict(os.environ)
        env.update(
            {
                # Production mode (the default), over plain HTTP because everything is on loopback.
                "DJANGO_DEBUG": "false",
                "DJANGO_HTTPS": "false",
                **self.secrets,
                "SERVER_PORT": str(self.server_port),
                "SERVER_URL": self.server_url,
                "WEBAPP_PUBLIC_URL": self.webapp_url,
                "DATABASE_PATH": str(self.workdir / "db.sqlite3"),
                "DATA_DIR": str(self.workdir / "server"),
                "MEDIA_ROOT": str(self.workdir / "media"),
                "MEDIA_BASE_URL": f"{self.server_url}/media",
                # One file for both: staff retraining in the webapp writes it, the server reloads it
                # (the shipped default scores until the first retraining).
                "METAMODEL_PATH": str(self.workdir / "model" / "metamodel.json"),
                # Stream URLs: the demo HLS server's port only, not loopback's other ports (the
                # webapp, the server's API): the allow-list checks host and port (allowlist.py).
                "ALLOWED_SOURCE_HOSTS": f"{HOST}:{self.hls_port},localhost:{self.hls_port}",
                # The demo channel stands in for Twitch: channel names resolve to the loopback HLS
                # server and chat comes from the loopback IRC server, both speaking the real protocols.
                "TWITCH_URL_TEMPLATE": f"hls://http://{HOST}:{self.hls_port}/live/{{login}}/index.m3u8",
                "TWITCH_IRC_HOST": HOST,
                "TWITCH_IRC_PORT": str(self.irc_port),
                "TWITCH_IRC_TLS": "false",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 120) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        env = self.env()
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
        for name in self.commands():
            (self.workdir / "logs" / f"{name}.log").write_bytes(b"")  # a fresh log for each run
            self._spawn(name, env)
        self._wait_until_up(timeout)

    def commands(self) -> dict[str, list[str]]:
        """The command line of each part, in start order."""
        return {
            "demo": [
                sys.executable,
                "-m",
                "server.demo",
                "--hls-port",
                str(self.hls_port),
                "--irc-port",
                str(self.irc_port),
            ],
            "server": [sys.executable, "-m", "server"],
            "webapp": [sys.executable, "-m", "webapp", f"--listen={HOST}:{self.webapp_port}", "--threads=8"],
        }

    def stop_part(self, name: str, kill: bool = False) -> None:
        """Stop one part (SIGTERM, then SIGKILL after 30 s), e.g. to test the others without it.

        `kill` sends SIGKILL at once, as a crash or the OOM killer would: no clean-up runs.
        """
        process = self.processes.pop(name)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in 30 s; killing it", name)
            process.kill()
            process.wait()

    def start_part(self, name: str, timeout: float = 60) -> None:
        """Start one part again after `stop_part` and wait until it answers."""
        self._spawn(name, self.env())
        self._wait_until_up(timeout, only=name)

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop_part(name)

    def log_of(self, name: str) -> str:
        return (self.workdir / "logs" / f"{name}.log").read_text(errors="replace")

    def _spawn(self, name: str, env: dict[str, str]) -> None:
        # Appended, so a part started again keeps the log of its first run.
        with open(self.workdir / "logs" / f"{name}.log", "ab") as out:
            self.processes[name] = subprocess.Popen(
                self.commands()[name], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )

    def _wait_until_up(self, timeout: float, only: str | None = None) -> None:
        checks = {
            "demo": f"http://{HOST}:{self.hls_port}/live/demo_channel/index.m3u8",
            "server": f"{self.server_url}/healthz",
            "webapp": f"{self.webapp_url}/accounts/login/",
        }
        deadline = time.monotonic() + timeout
        for name, url in checks.items():
            if only and name != only:
                continue
            while True:
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited at start-up:\n{self.log_of(name)[-3000:]}")
                try:
                    if requests.get(url, timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not come up in {timeout:.0f} s")
                time.sleep(0.3)


def cli() -> int:
    parser = argparse.ArgumentParser(prog="python -m server.demo.stack", description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "stack")
    parser.add_argument("--webapp-port", type=int, default=8000)
    parser.add_argument("--server-port", type=int, default=5000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The demo keeps its data where the embedded defaults (or the user's config.py) put it, so
    # `manage.py createsuperuser` and a later `python -m server` see the same database and clips.
    places = {
        name: str(setting(name, None) or ROOT / "var" / default)
        for name, default in (
            ("DATABASE_PATH", "db.sqlite3"),
            ("DATA_DIR", "server"),
            ("MEDIA_ROOT", "media"),
            ("METAMODEL_PATH", "model/metamodel.json"),
        )
    }
    # This machine's own secrets (var/secrets.env, made once), unless config.py or the environment
    # sets them: a later `python -m server` or `python -m webapp` then uses the same ones.
    ensure_secrets()
    secrets = {name: setting(name) for name in DEV_SECRETS}
    stack = Stack(args.workdir, args.webapp_port, args.server_port, extra_env=places, secrets=secrets)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        stack.start()
        print(
            f"""
  Highlights is running (logs in {args.workdir / "logs"}).

  Open {stack.webapp_url}/ , sign up (or `.venv/bin/python manage.py createsuperuser`),
  then add the channel  demo_channel  : an offline demo of a live Twitch channel (real clips
  and real chat on loopback). Highlight clips appear on its page within a few minutes.
  Ctrl-C stops everything.
""",
            flush=True,
        )
        while all(p.poll() is None for p in stack.processes.values()):
            time.sleep(1)
        failed = [name for name, p in stack.processes.items() if p.poll() is not None]
        log.error("%s stopped; see %s", ", ".join(failed), args.workdir / "logs")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(cli())
