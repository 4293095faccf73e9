"""The webapp's database: PostgreSQL from a DATABASE_URL, or a private SQLite file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

POSTGRES_SCHEMES = ("postgres", "postgresql")


def database_from_url(url: str) -> dict[str, Any]:
    """Django's DATABASES entry for `postgres://user:password@host:port/name?sslmode=require`.

    Query parameters become connection options (psycopg's `sslmode`, `connect_timeout`, ...).
    PostgreSQL needs the `psycopg` package (`pip install "psycopg[binary]"`).
    """
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if parts.scheme not in POSTGRES_SCHEMES or not name:
        raise ImproperlyConfigured(
            "DATABASE_URL must look like postgres://user:password@host:5432/name "
            f"(got scheme {parts.scheme!r}, database {name!r})"
        )
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": dict(parse_qsl(parts.query)),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


def private_sqlite_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (0600), or tighten an existing one.

    SQLite gives its -wal and -shm files the database file's mode, so creating the file first is
    enough for new ones; files left by an older, looser run are tightened too.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a new folder is private too
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)
        except FileNotFoundError:
            pass
