"""Running the apps as real processes in production mode, isolated from this machine's settings.

`isolated_env` starts from the environment with every documented setting removed (the names in
config.example.py, so a developer's exports cannot leak in), points config.py and the secrets
file at paths that do not exist, and adds the given settings. `http_head` speaks raw HTTP to a
loopback port, for requests `requests` will not send (a Content-Length it never follows).
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTING_NAMES = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+) = ", (ROOT / "config.example.py").read_text(), re.M))


def isolated_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if name not in SETTING_NAMES and not name.startswith(("DJANGO_", "HIGHLIGHTS_"))}
    env.update({"HIGHLIGHTS_CONFIG": str(tmp_path / "no-config.py"),
                "HIGHLIGHTS_SECRETS": str(tmp_path / "no-secrets.env"),
                "DATABASE_PATH": str(tmp_path / "db" / "db.sqlite3"),
                "STATIC_ROOT": str(tmp_path / "static"),
                "PYTHONUNBUFFERED": "1"})
    env.update(settings)
    return env


def http_head(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    """Send `request` (headers, maybe part of a body) and return what the server answers first."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer
