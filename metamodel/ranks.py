"""Every feature read against the stream's own last hour, as a Gaussian rank.

The model must not be decided by absolute numbers: 80 messages in 20 s is a dead moment for a
50,000-viewer channel and the event of the night for a small one; -20 LUFS is quiet for a
shooter and loud for a chess stream. So each raw feature x becomes its mid-rank quantile
q in (0, 1) among the stream's previous values (and x itself), mapped through the inverse
normal CDF: z = Phi^-1(q). Properties this buys:
- scale-free and robust: one outlier cannot stretch the scale of every later segment;
- comparable across features, so one set of coefficients serves every channel;
- a long window (one hour) keeps a hot ten minutes hot: a short rolling median erases a long
  stretch of excitement (measured: a 5-minute median ranked worse than the raw count);
- neutral when absent or constant: a missing group is None (imputed at 0), and a feature that
  never varies (a tagger whose outputs are all zero) ranks every value at q = 0.5, z = 0, so a
  checkpoint appearing cannot move a score by itself;
- bounded by the history: with n values z is at most Phi^-1((n + 0.5) / (n + 1)) (~3.0 at
  n = 360), so a stream's first minutes cannot produce extreme scores.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from statistics import NormalDist

import numpy as np

from metamodel.schema import RANK_PREFIX as PREFIX

HISTORY_SEGMENTS = 360  # one hour of 10 s segments
_NORMAL = NormalDist()


def rank_bound(history: int) -> float:
    """The largest |z| a rank against `history` earlier values can take (see above)."""
    return _NORMAL.inv_cdf((history + 0.5) / (history + 1))


RANK_BOUND = rank_bound(HISTORY_SEGMENTS)  # against a full hour: the bound of every rank


def rank_name(feature: str) -> str:
    return PREFIX + feature


def base_of(feature: str) -> str:
    """`rank:chat_messages` -> `chat_messages`; other names unchanged."""
    return feature[len(PREFIX) :] if feature.startswith(PREFIX) else feature


def gaussian_rank(history: np.ndarray, value: float) -> float:
    """Phi^-1 of the mid-rank quantile of `value` among `history` plus itself."""
    less = int(np.count_nonzero(history < value))
    equal = int(np.count_nonzero(history == value))
    q = (less + 0.5 * (equal + 1)) / (len(history) + 1)
    return _NORMAL.inv_cdf(q)


class StreamRanks:
    """One stream's history of each ranked feature; `rank(values)` maps one segment, in order."""

    def __init__(self, features: list[str], window: int = HISTORY_SEGMENTS):
        self.features = list(features)
        self.window = window
        self._history: dict[str, deque[float]] = {}

    def bound(self, feature: str) -> float:
        """The largest |z| `rank:<feature>` can take now, given the history it has (0 with none)."""
        return rank_bound(len(self._history.get(feature, ())))

    def rank(self, values: Mapping[str, float | None], remember: bool = True) -> dict[str, float | None]:
        """`rank:<f>` for every configured feature f in `values` (and every audio_tag); None where f is None.

        Each call adds the values to the history, so call it once per segment for each feature
        (the featurizer ranks the cheap features, then the audio tags); `remember=False` ranks
        without adding, for values that are not a fair sample of the stream (the audio tags of
        the cascade's candidates, metamodel/cascade.py).
        """
        names = [f for f in self.features if f in values]
        names += [f for f in values if f.startswith("audio_tag:") and f not in self.features]
        ranked: dict[str, float | None] = {}
        for name in names:
            value = values.get(name)
            if value is None or not math.isfinite(value):
                ranked[rank_name(name)] = None
                continue
            history = self._history.setdefault(name, deque(maxlen=self.window))
            ranked[rank_name(name)] = round(gaussian_rank(np.fromiter(history, float, len(history)), value), 6)
            if remember:
                history.append(float(value))
        return ranked


def quantile_of(z: float) -> float:
    """Back from a Gaussian rank to its quantile (for the reasons shown to users)."""
    return _NORMAL.cdf(z)
