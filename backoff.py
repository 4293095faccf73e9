"""Exponential backoff: the one rule every retry loop in the project waits by.

Delays start at `initial`, double after each failure up to `maximum`, and go back to `initial`
after a success. Optional jitter (a fraction, e.g. 0.2 = +-20 %) keeps many clients that failed
at the same moment from coming back in step. Pure: it computes delays, the caller waits.

Three shapes of the same rule: `next_delay` for a caller that keeps the last delay itself (one
per queued item, say), `Backoff` for one retry loop, `backoff_delays` as an iterator.
"""

from __future__ import annotations

import random
from collections.abc import Iterator


def next_delay(previous: float | None, initial: float, maximum: float) -> float:
    """The delay after `previous` (None or 0: no failure yet): twice it, at least `initial`, at most `maximum`."""
    return min(max((previous or 0.0) * 2, initial), maximum)


class Backoff:
    """The next delay of one retry loop: `next()` after a failure, `reset()` after a success."""

    def __init__(self, initial: float, maximum: float, jitter: float = 0.0, rng: random.Random | None = None):
        if not (initial > 0 and maximum > 0):
            raise ValueError(f"backoff needs positive delays, got {initial} and {maximum}")
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter is a fraction from 0 to 1, got {jitter}")
        # A minimum above the maximum (two settings set apart) waits the maximum, it does not fail.
        self.initial, self.maximum, self.jitter = initial, maximum, jitter
        self._rng = rng or random.Random()
        self._last = 0.0

    def next(self) -> float:
        """The delay to wait now; the one after it is twice as long (at most `maximum`)."""
        self._last = next_delay(self._last, self.initial, self.maximum)
        if self.jitter:
            return self._last * self._rng.uniform(1 - self.jitter, 1 + self.jitter)
        return self._last

    def reset(self) -> None:
        self._last = 0.0


def backoff_delays(
    initial: float, maximum: float, jitter: float = 0.0, rng: random.Random | None = None
) -> Iterator[float]:
    """The same delays as an endless iterator (a fresh one per run of retries)."""
    backoff = Backoff(initial, maximum, jitter, rng)
    while True:
        yield backoff.next()
