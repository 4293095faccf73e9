"""Pick highlights from a stream's segment scores, online, at a rate the user chose.

A highlight budget instead of a probability threshold. A score's absolute value means little
across channels (a 20-viewer chat and a 50,000-viewer one, a quiet strategy game and a loud
shooter), so the selector reads each score against the stream's own last hour: the bar a
segment must clear is the score of that hour's `per_hour`-th best moment (local peak of the
scores): "about 6 per hour" = each one among the 6 best moments of the hour before it. A token bucket
caps bursts: a hot ten minutes cannot publish more than the budget allows, and the first
highlight may come after one minute, so a new stream is not silent while its history builds up.

Runs of consecutive segments over the bar become one highlight; the clip starts one segment
early (the build-up is part of the moment) and a cooldown after a highlight keeps one long
moment from being reported as a string of near-duplicates.

This is the only highlight counter: the live job, `server.analyze`, training's reports and the
web app's estimate for the sensitivity slider all run this class over the same scores.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

SEGMENT_SECONDS = 10.0
DEFAULT_PER_HOUR = 6.0  # about one highlight per 10 minutes of stream
MIN_PER_HOUR, MAX_PER_HOUR = 0.5, 60.0
HISTORY_SEGMENTS = 360  # one hour of 10 s segments: the stream's own score distribution
MIN_HISTORY = 6  # one minute: a bar drawn from fewer scores means nothing
# Until the stream has this much history, the budget of its "best moments so far" is counted as
# if over this span, not over the few minutes seen: that made every early highlight a new record
# of the stream, and one early peak (seen while the ranks had little history) silenced the first
# ten minutes of the demo channel.
MIN_BAR_HOURS = 0.5
MIN_QUANTILE = 0.75  # a highlight is at least in the top quarter of the stream's scores so far
BURST_MINUTES = 20.0  # the bucket holds at most this many minutes' worth of budget (at least 1)


@dataclass(frozen=True)
class Highlight:
    first_seq: int  # first segment of the clip, lead-in included
    last_seq: int
    peak_seq: int  # the best segment; its middle makes the thumbnail
    score: float  # the best segment's score

    @property
    def key(self) -> str:
        return f"{self.first_seq:06d}-{self.last_seq:06d}"


def validate_per_hour(raw: object) -> float:
    """A highlight budget in highlights per hour, or ValueError saying what is allowed."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not MIN_PER_HOUR <= raw <= MAX_PER_HOUR:
        raise ValueError(f"highlights per hour must be a number from {MIN_PER_HOUR:g} to {MAX_PER_HOUR:g}")
    return float(raw)


def peaks_of(history: np.ndarray) -> np.ndarray:
    """The scores of the history's moments: its local maxima (a plateau counts once).

    Moments, not segments: a moment that scores high for three segments is one highlight.
    """
    left = np.concatenate(([-np.inf], history[:-1]))
    right = np.concatenate((history[1:], [-np.inf]))
    return history[(history >= left) & (history > right)]


def bar_for(history: np.ndarray, per_hour: float, segment_seconds: float = SEGMENT_SECONDS) -> float:
    """The score of the k-th best moment of `history` (in time order), k = the budget of its span.

    k is per_hour times the hours of history, counted as at least MIN_BAR_HOURS, at least one;
    with fewer moments than that, the lowest moment. Never below the stream's upper quartile:
    in a young stream's few moments the k-th best can be an ordinary one.
    """
    hours = max(len(history) * segment_seconds / 3600, MIN_BAR_HOURS)
    k = max(1, round(per_hour * hours))
    peaks = np.sort(peaks_of(history))[::-1]
    return max(float(peaks[min(k, len(peaks)) - 1]), float(np.quantile(history, MIN_QUANTILE)))


@dataclass
class HighlightSelector:
    per_hour: float = DEFAULT_PER_HOUR
    segment_seconds: float = SEGMENT_SECONDS
    lead_in: int = 1  # segments
    cooldown: int = 3  # segments after a highlight during which a new one cannot start
    max_segments: int = 6  # a run this long is closed and reported even if it goes on
    history: int = HISTORY_SEGMENTS
    min_history: int = MIN_HISTORY
    _scores: deque = field(default_factory=deque, repr=False)
    _tokens: float = 1.0
    _run: list[tuple[int, float]] = field(default_factory=list, repr=False)
    _last_end: int | None = None
    _run_bar: float | None = None
    bar: float | None = None  # the bar the last segment was held to (None while warming up)

    def bar_for(self, seq: int) -> float:
        """What segment `seq`, pushed next, must score to be part of a highlight: the open run's
        bar, or the hour's; infinity when it cannot be one whatever it scores (still warming up,
        cooling down after the last highlight, or no token left to open one). The same rules as
        `push`, read without changing anything, for the audio-tag cascade (metamodel/cascade.py)."""
        can_open = self._refilled() >= 1.0
        if self._run:
            if seq == self._run[-1][0] + 1:
                return self._run_bar if self._run_bar is not None else math.inf
            return self._run_bar if can_open and self._run_bar is not None else math.inf
        bar = self._bar()
        if bar is None or self._cooling(seq) or not can_open:
            return math.inf
        return bar

    def push(self, seq: int, score: float) -> Highlight | None:
        """Feed the next segment's score; return a highlight when a run of good segments closes."""
        # A run in progress is held to the bar it opened at: its own high scores, now in the
        # history, must not cut the moment short.
        self.bar = self._run_bar if self._run else self._bar()
        self._remember(score)
        # Opening needs more than the bar (a flat stream has no moments); a run goes on at it.
        good = self.bar is not None and (score >= self.bar if self._run else score > self.bar)
        if good and self._run and seq != self._run[-1][0] + 1:  # a gap in the stream ends a run
            closed = self._close()
            self._open_or_skip(seq, score)
            return closed
        if good and self._run:
            self._run.append((seq, score))
            return self._close() if len(self._run) >= self.max_segments else None
        if good and not self._cooling(seq):
            self._open_or_skip(seq, score)
            return None
        return self._close() if self._run else None

    def flush(self) -> Highlight | None:
        """Close the run in progress (the stream ended)."""
        return self._close() if self._run else None

    def set_per_hour(self, per_hour: float) -> None:
        """Change the budget from the next segment on; the history is kept."""
        self.per_hour = validate_per_hour(per_hour)

    def _bar(self) -> float | None:
        if len(self._scores) < self.min_history:
            return None
        return bar_for(np.fromiter(self._scores, float, len(self._scores)), self.per_hour, self.segment_seconds)

    def _remember(self, score: float) -> None:
        self._scores.append(score)
        while len(self._scores) > self.history:
            self._scores.popleft()
        self._tokens = self._refilled()

    def _refilled(self) -> float:
        """The tokens after the next segment's refill (the bucket holds BURST_MINUTES' worth)."""
        capacity = max(1.0, self.per_hour * BURST_MINUTES / 60)
        return min(self._tokens + self.per_hour * self.segment_seconds / 3600, capacity)

    def _open_or_skip(self, seq: int, score: float) -> None:
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            self._run, self._run_bar = [(seq, score)], self.bar

    def _cooling(self, seq: int) -> bool:
        return self._last_end is not None and seq <= self._last_end + self.cooldown

    def _close(self) -> Highlight:
        peak_seq, peak = max(self._run, key=lambda item: item[1])
        first = max(self._run[0][0] - self.lead_in, 0)
        highlight = Highlight(first, self._run[-1][0], peak_seq, peak)
        self._last_end = highlight.last_seq
        self._run = []
        return highlight


def select(
    scores: Iterable[tuple[int, float]], per_hour: float = DEFAULT_PER_HOUR, segment_seconds: float = SEGMENT_SECONDS
) -> list[Highlight]:
    """Every highlight a live job would publish on these (seq, score) pairs, in order."""
    selector = HighlightSelector(per_hour, segment_seconds)
    found = [h for seq, score in scores if (h := selector.push(seq, score)) is not None]
    last = selector.flush()
    return found + ([last] if last else [])
