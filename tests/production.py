"""Running the apps as real processes in production mode, isolated from this machine's settings.

`isolated_env` starts from the environment with every documented setting removed (the names in
config.example.py, so a developer's exports cannot leak in), points config.py and the secrets
file at paths that do not exist, and adds the given settings. `running` starts an app as a
process and waits until it answers. `huge_body_answer` speaks raw HTTP: it announces a body of
10^9 bytes, sends one byte of it and returns what the server answers.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SETTING_NAMES = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+) = ", (ROOT / "config.example.py").read_text(), re.M))


def isolated_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in SETTING_NAMES and not name.startswith(("DJANGO_", "HIGHLIGHTS_"))
    }
    env.update(
        {
            "HIGHLIGHTS_CONFIG": str(tmp_path / "no-config.py"),
            "HIGHLIGHTS_SECRETS": str(tmp_path / "no-secrets.env"),
            "DATABASE_PATH": str(tmp_path / "db" / "db.sqlite3"),
            "STATIC_ROOT": str(tmp_path / "static"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(settings)
    return env


@contextmanager
def running(command: list[str], env: dict[str, str], url: str, log: Path, timeout: float = 120) -> Iterator[None]:
    """Run `command` (cwd: the repository) until the block ends, once `url` answers anything."""
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                requests.get(url, timeout=2, allow_redirects=False)
                break
            except requests.ConnectionError:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, f"{command} did not answer at {url}:\n{log.read_text()}"
                time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def assert_huge_body_refused_unread(port: int, path: str) -> None:
    """A 413 within 5 s to a POST announcing 10^9 bytes, of which one was sent: the server refused
    the body by its Content-Length, without waiting for (or spooling) it."""
    started = time.monotonic()
    answer = huge_body_answer(port, path)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 5


def huge_body_answer(port: int, path: str, timeout: float = 10.0) -> bytes:
    """POST `path` without a token, announcing a 10^9-byte JSON body; the first answer, in bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: 1000000000\r\n\r\n{{".encode()
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer
