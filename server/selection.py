"""Pick highlights from a stream of scored segments, online, one segment at a time.

Runs of consecutive segments at or above the threshold become one highlight; the clip starts one
segment early (lead-in: the build-up is part of the moment) and a cooldown after a highlight
keeps one long moment from being reported as a string of near-duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Highlight:
    first_seq: int  # first segment of the clip, lead-in included
    last_seq: int
    peak_seq: int  # the best segment; its middle makes the thumbnail
    score: float  # the best segment's score

    @property
    def key(self) -> str:
        return f"{self.first_seq:06d}-{self.last_seq:06d}"


@dataclass
class HighlightSelector:
    threshold: float
    lead_in: int = 1  # segments
    cooldown: int = 3  # segments after a highlight during which a new one cannot start
    max_segments: int = 6  # a run this long is closed and reported even if it goes on
    _run: list[tuple[int, float]] = field(default_factory=list)
    _last_end: int | None = None

    def push(self, seq: int, score: float) -> Highlight | None:
        """Feed the next segment's score; return a highlight when a run of good segments closes."""
        if score >= self.threshold and not self._cooling(seq):
            if self._run and seq != self._run[-1][0] + 1:
                closed = self._close()
                self._run = [(seq, score)]
                return closed
            self._run.append((seq, score))
            if len(self._run) >= self.max_segments:
                return self._close()
            return None
        return self._close() if self._run else None

    def flush(self) -> Highlight | None:
        """Close the run in progress (the stream ended)."""
        return self._close() if self._run else None

    def _cooling(self, seq: int) -> bool:
        return not self._run and self._last_end is not None and seq <= self._last_end + self.cooldown

    def _close(self) -> Highlight:
        peak_seq, peak = max(self._run, key=lambda item: item[1])
        first = max(self._run[0][0] - self.lead_in, 0)
        highlight = Highlight(first, self._run[-1][0], peak_seq, peak)
        self._last_end = highlight.last_seq
        self._run = []
        return highlight
