"""A stream's highlight budget on the web side: the model's default, the slider's steps, and the
estimate of how many highlights the server would publish at a budget on the stream's stored scores.

The estimate is not a second counter: it runs the server's own `HighlightSelector`
(metamodel/selection.py) over the scores the server reported, in seq order, exactly as the
live job pushes them. Like the live job it counts only closed highlights: a run of good segments
still going at the last stored segment is published by the server when it closes, not before.
"""

from __future__ import annotations

import hashlib
import logging
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from metamodel import MetamodelError
from metamodel.artifact import DEFAULT_MODEL_PATH, load_metamodel
from metamodel.selection import DEFAULT_PER_HOUR, SEGMENT_SECONDS, HighlightSelector
from webapp.streams.models import Stream

log = logging.getLogger(__name__)

# The slider's stops (highlights per hour): log-ish, so 1 vs 2 is as far apart as 30 vs 60.
# The number input beside it takes any value from 0.5 to 60.
STEPS: tuple[float, ...] = (0.5, 1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60)

ESTIMATE_CACHE_S = 3600
_model_budget: dict[tuple[str, int, int], float] = {}  # (path, mtime, size) -> budget


def model_budget() -> float:
    """The model's default budget: the file the server serves (METAMODEL_PATH while it exists,
    else the shipped default, as the server's ModelStore does), read again when it changes."""
    configured = settings.METAMODEL_PATH
    path = Path(configured) if configured and Path(configured).exists() else DEFAULT_MODEL_PATH
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key not in _model_budget:
            _model_budget.clear()
            _model_budget[key] = load_metamodel(path).per_hour
        return _model_budget[key]
    except (OSError, MetamodelError) as exc:
        log.warning("model budget unknown (%s): showing the selector's default", exc)
        return DEFAULT_PER_HOUR


def nearest_step(per_hour: float) -> int:
    """The index of the slider stop closest to `per_hour` (on the log scale the stops follow)."""
    return min(range(len(STEPS)), key=lambda i: abs(math.log(STEPS[i] / per_hour)))


def describe(per_hour: float, chosen: bool) -> str:
    """The budget in words, for the panel: whose it is and what it means."""
    best = max(1, round(per_hour))  # bar_for's target over a full hour of history
    among = "the best moment" if best == 1 else f"among the {best} best moments"
    whose = "Your budget for this stream" if chosen else "The model's budget"
    return f"{whose}: about {per_hour:g} highlights per hour; each is {among} of the hour before it."


@dataclass(frozen=True)
class Estimate:
    per_hour: float  # the budget the stored scores were replayed at
    highlights: int  # closed highlights the server's selector gives on them
    hours: float  # hours of stream those scores cover

    @property
    def per_stream_hour(self) -> float:
        return self.highlights / self.hours if self.hours else 0.0

    @property
    def text(self) -> str:
        return (
            f"At {self.per_hour:g} per hour, this stream would have had {self.highlights} "
            f"highlight{'' if self.highlights == 1 else 's'} so far "
            f"({self.per_stream_hour:.1f} per hour of stream)."
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "per_hour": self.per_hour,
            "highlights": self.highlights,
            "hours": round(self.hours, 3),
            "per_stream_hour": round(self.per_stream_hour, 2),
            "text": self.text,
        }


def estimate(stream: Stream, per_hour: float) -> Estimate | None:
    """What the server's selector publishes at `per_hour` on this stream's stored scores, or None
    when nothing of the stream has been scored yet."""
    rows = list(stream.segments.order_by("seq").values_list("seq", "score", "duration_s"))
    if not rows:
        return None
    # Replaying a day of segments takes about a second; the page asks on every load, so the
    # count is kept for exactly these scores (any new or changed segment makes a new key).
    key = "budget-estimate:" + hashlib.sha256(repr((per_hour, rows)).encode()).hexdigest()
    highlights = cache.get(key)
    if highlights is None:
        selector = HighlightSelector(per_hour, segment_length([duration for _, _, duration in rows]))
        highlights = sum(selector.push(seq, score) is not None for seq, score, _ in rows)
        cache.set(key, highlights, ESTIMATE_CACHE_S)
    return Estimate(per_hour, highlights, sum(duration for _, _, duration in rows) / 3600)


def segment_length(durations: list[float]) -> float:
    """The server's configured segment length (SEGMENT_SECONDS), read back from the durations it
    reported: their median to 0.1 s (a stream's first and last segments may be cut short)."""
    median = statistics.median(durations) if durations else 0.0
    return round(median, 1) if median > 0 else SEGMENT_SECONDS
