"""How many highlights a threshold would give: runs of segments at or above it, per hour."""

from __future__ import annotations

from collections.abc import Sequence

SEGMENT_SECONDS = 10.0


def highlights_per_hour(scores: Sequence[float], threshold: float, segment_seconds: float = SEGMENT_SECONDS) -> float:
    """Runs of consecutive segments scoring >= threshold, per hour of these segments."""
    runs, inside = 0, False
    for score in scores:
        above = score >= threshold
        runs += above and not inside
        inside = above
    return round(runs / (len(scores) * segment_seconds / 3600), 1) if scores else 0.0
