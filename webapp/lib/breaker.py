"""A circuit breaker: after a few calls in a row found a service dead or hung, stop calling it
for a while, so that callers fail at once instead of each waiting for a timeout.

Django-free and thread-safe. Closed: every call goes through. After `failures` failures in a row
it opens: `allow()` is False for `reset_after` seconds. Then one trial call is let through (half
open); its success closes the breaker, its failure opens it again for another `reset_after`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    def __init__(self, failures: int = 3, reset_after: float = 15.0, clock: Callable[[], float] = time.monotonic):
        self.failures = failures
        self.reset_after = reset_after
        self._clock = clock
        self._lock = threading.Lock()
        self._count = 0  # failures in a row
        self._opened_at: float | None = None
        self._trial = False  # a half-open trial call is in flight

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._opened_at is not None

    def retry_in(self) -> float:
        """Seconds until a trial call is let through (0 when closed or due)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(self._opened_at + self.reset_after - self._clock(), 0.0)

    def allow(self) -> bool:
        """True when a call may go out now (a half-open trial counts as the one allowed call)."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._trial or self._clock() < self._opened_at + self.reset_after:
                return False
            self._trial = True
            return True

    def success(self) -> None:
        with self._lock:
            self._count, self._opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self._count += 1
            self._trial = False
            if self._opened_at is not None or self._count >= self.failures:
                self._opened_at = self._clock()
