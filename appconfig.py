"""Settings shared by the webapp and the server: environment first, then `config.py`, then the
generated secrets file (`var/secrets.env`, written by `python -m appsecrets`), then the default.

`config.example.py` documents every key. Nothing here reads a file at import time; each lookup
goes through `setting()`, so tests can set environment variables before building an app.

This is also the one place that decides "production" (`is_debug()`: DJANGO_DEBUG, off unless set)
and refuses, outside debug, a shared secret that is missing, a published default or too short.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent


class ImproperlyConfigured(Exception):
    """A setting has a value of the wrong type or form (raised at start-up, never later)."""


# The values config.example.py prints: anyone can read them, so production refuses them.
DEV_SECRETS = {
    "SERVER_API_TOKEN": "dev-server-token",
    "INGEST_API_TOKEN": "dev-ingest-token",
    "DJANGO_SECRET_KEY": "dev-only-insecure-secret-key-do-not-use-in-production",
}
# Shortest accepted in production: the API tokens are bearer passwords (32 characters of
# `secrets.token_urlsafe` are 192 bits); Django's own deploy check wants 50 for its key.
MIN_SECRET_LENGTH = {"SERVER_API_TOKEN": 32, "INGEST_API_TOKEN": 32, "DJANGO_SECRET_KEY": 50}


def _config_file() -> Path:
    return Path(os.environ.get("HIGHLIGHTS_CONFIG", ROOT / "config.py"))


def secrets_file() -> Path:
    """The generated secrets (`python -m appsecrets`); HIGHLIGHTS_SECRETS names another file."""
    return Path(os.environ.get("HIGHLIGHTS_SECRETS", ROOT / "var" / "secrets.env"))


def read_secrets_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines of a secrets file (blank lines and `#` comments skipped); {} if absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values = {}
    for line in text.splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and not name.startswith("#"):
            values[name.strip()] = value.strip()
    return values


def _from_config_file(name: str) -> Any:
    path = _config_file()
    try:
        version = path.stat().st_mtime_ns
    except OSError:
        return None
    return getattr(_load_config(str(path), version), name, None)


@functools.lru_cache(maxsize=4)
def _load_config(path: str, version: int) -> ModuleType:
    """Execute config.py once per file and version (mtime), not on every lookup (~60 per start)."""
    spec = importlib.util.spec_from_file_location("highlights_local_config", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setting(name: str, default: Any = None, cast: Callable[[Any], Any] = str) -> Any:
    """Return setting `name`: env var, else `config.py`, else `default`, passed through `cast`."""
    raw = os.environ.get(name)
    if raw is None:
        raw = _from_config_file(name)
    if raw is None and name in DEV_SECRETS:
        raw = read_secrets_file(secrets_file()).get(name)
    if raw is None:
        return default
    try:
        return cast(raw)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"{name}={raw!r}: {exc}") from exc


def as_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true/false")


def as_list(raw: Any) -> list[str]:
    """Comma-separated string (from the environment) or a list (from config.py)."""
    if isinstance(raw, (list, tuple)):
        return [str(item).strip() for item in raw if str(item).strip()]
    return [item.strip() for item in str(raw).split(",") if item.strip()]


def is_debug() -> bool:
    """Debug (development) mode: DJANGO_DEBUG, off unless set, so production is the default."""
    return setting("DJANGO_DEBUG", False, as_bool)


def check_secret(name: str, value: str | None, debug: bool) -> str:
    """Return the secret `name`; in debug a missing one falls back to its development default.

    Outside debug, raise ImproperlyConfigured naming the setting if it is missing, one of the
    published development values, or shorter than MIN_SECRET_LENGTH.
    """
    if debug:
        return value or DEV_SECRETS[name]
    fix = (
        f"set {name} (environment or config.py) to a long random string, or run "
        f"`.venv/bin/python -m appsecrets` to generate {secrets_file()}"
    )
    if not value:
        raise ImproperlyConfigured(f"{name} is not set and DJANGO_DEBUG is off: {fix}")
    if value in DEV_SECRETS.values():
        raise ImproperlyConfigured(f"{name} is a published development default and DJANGO_DEBUG is off: {fix}")
    if len(value) < MIN_SECRET_LENGTH[name]:
        raise ImproperlyConfigured(
            f"{name} is shorter than {MIN_SECRET_LENGTH[name]} characters and DJANGO_DEBUG is off: {fix}"
        )
    return value


def secret(name: str, debug: bool) -> str:
    """The shared secret `name` from the settings, checked by `check_secret`."""
    return check_secret(name, setting(name, None), debug)
