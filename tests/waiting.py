"""Waiting for something another thread or process does, without a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 30.0, step: float = 0.05) -> T | None:
    """Poll `check` until it returns something truthy and return that, or None after `timeout`.

    The timeout only bounds how long a failing test takes, so it is generous: a loaded CI
    machine may be several times slower than a laptop.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            return None
        time.sleep(step)
