"""Settings shared by the webapp and the server: environment first, then `config.py`, then default.

`config.example.py` documents every key. Nothing here reads a file at import time; each lookup
goes through `setting()`, so tests can set environment variables before building an app.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent


class ImproperlyConfigured(Exception):
    """A setting has a value of the wrong type or form (raised at start-up, never later)."""


def _config_file() -> Path:
    return Path(os.environ.get("HIGHLIGHTS_CONFIG", ROOT / "config.py"))


def _from_config_file(name: str) -> Any:
    path = _config_file()
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("highlights_local_config", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name, None)


def setting(name: str, default: Any = None, cast: Callable[[Any], Any] = str) -> Any:
    """Return setting `name`: env var, else `config.py`, else `default`, passed through `cast`."""
    raw = os.environ.get(name)
    if raw is None:
        raw = _from_config_file(name)
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
