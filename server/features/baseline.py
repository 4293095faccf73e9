"""A stream's own recent normal, so that "4x its usual chat rate" means something per channel."""

from __future__ import annotations

from collections import deque

import numpy as np


class RollingBaseline:
    """Median (or mean) of the last `window` values; `ratio(x)` compares x with it (1.0 before any history).

    The mean suits rare events (subs, raids) whose median is nearly always 0.
    """

    def __init__(
        self,
        window: int = 30,
        floor: float = 1e-6,
        cap: float = 20.0,
        statistic: str = "median",
        start_at_floor: bool = False,
    ):
        if statistic not in ("median", "mean"):
            raise ValueError(f"statistic must be 'median' or 'mean', got {statistic!r}")
        self.values: deque[float] = deque(maxlen=window)
        self.floor = floor  # keeps a ratio finite on a silent/still stream
        self.cap = cap  # one burst after a dead hour must not swamp every other feature
        self.statistic = statistic
        # Before any history, compare with `floor` instead of answering 1.0: right for events
        # that are usually absent, where "no sub" must read 0 from the first segment on.
        self.start_at_floor = start_at_floor

    def usual(self) -> float | None:
        """The median (or mean) so far, at least `floor`; None before any history (unless start_at_floor)."""
        if not self.values:
            return self.floor if self.start_at_floor else None
        centre = np.median(self.values) if self.statistic == "median" else np.mean(self.values)
        return max(float(centre), self.floor)

    def ratio(self, value: float) -> float:
        """Ratio of `value` to the usual value so far, then add `value` to the history."""
        usual = self.usual()
        result = 1.0 if usual is None else min(value / usual, self.cap)
        self.values.append(value)
        return result
