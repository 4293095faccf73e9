"""A stream's own recent normal, so that "4x its usual chat rate" means something per channel."""

from __future__ import annotations

from collections import deque

import numpy as np


class RollingBaseline:
    """Median of the last `window` values; `ratio(x)` compares x with it (1.0 before any history)."""

    def __init__(self, window: int = 30, floor: float = 1e-6, cap: float = 20.0):
        self.values: deque[float] = deque(maxlen=window)
        self.floor = floor  # keeps a ratio finite on a silent/still stream
        self.cap = cap  # one burst after a dead hour must not swamp every other feature

    def ratio(self, value: float) -> float:
        """Ratio of `value` to the median so far, then add `value` to the history."""
        if self.values:
            median = float(np.median(self.values))
            result = min(value / max(median, self.floor), self.cap)
        else:
            result = 1.0
        self.values.append(value)
        return result
