"""The figures of one `bench.streams` run over a stretch of its measurement, and their table.

Lag is the time from the moment the server may score a segment at the earliest (its chat
reaction window has closed: CHAT_LAG_S + CHAT_WINDOW_S after the segment's start) to its report
reaching the webapp. The server waits for that window on purpose, so the wait is not counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from bench.callback import SegmentReport
from metamodel.schema import CHAT_LAG_S, CHAT_WINDOW_S

REACTION_WAIT_S = CHAT_LAG_S + CHAT_WINDOW_S  # seconds after a segment's start before it can be scored
SEGMENT_SECONDS = 10.0  # the server's default SEGMENT_SECONDS, which the bench runs with
LAG_DEFINITION = (
    f"lag = arrival of the segment's report at the webapp - (segment start + CHAT_LAG_S {CHAT_LAG_S:g} s "
    f"+ CHAT_WINDOW_S {CHAT_WINDOW_S:g} s): the deliberate wait for the chat reaction window is not counted"
)


@dataclass(frozen=True)
class Mark:
    """A reading taken during the measurement: when, and the server tree's CPU-seconds so far."""

    t: float
    cpu_s: float


@dataclass(frozen=True)
class Window:
    """The figures of one stretch of a run (all of it, or its first / last ten minutes)."""

    name: str
    minutes: float
    segments: int  # scored segments whose report arrived in the stretch
    tagged_segments: int  # of which the audio tagger ran on (the others' audio_tag:* are None)
    segments_with_chat: int  # of which had chat messages in their reaction window (chat is on)
    cpu_s: float  # CPU-seconds of the server and its children in the stretch
    cpu_s_per_segment: float | None
    ratio_to_decode: float | None  # cpu_s_per_segment / the decode baseline
    segments_per_10s: float  # scored per 10 s of wall time; keeping up means ~ the number of streams
    needed_per_10s: float
    lag_p50_s: float | None
    lag_p95_s: float | None
    lag_max_s: float | None
    # The p95 apart for segments the tagger ran on and the rest: where a long lag comes from.
    lag_p95_tagged_s: float | None
    lag_p95_untagged_s: float | None
    peak_rss_mb: float | None  # server + children, sampled every second


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`, or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def lag_s(report: SegmentReport) -> float:
    return report.arrived - (report.start_utc + REACTION_WAIT_S)


def window(
    name: str,
    start: Mark,
    end: Mark,
    reports: Sequence[SegmentReport],
    rss: Sequence[tuple[float, float]],
    streams: int,
    decode_s: float,
) -> Window:
    """Figures for reports that arrived in (start.t, end.t] and memory sampled in [start.t, end.t]."""
    inside = [r for r in reports if start.t < r.arrived <= end.t]
    lags = [lag_s(r) for r in inside]
    cpu = end.cpu_s - start.cpu_s
    per_segment = cpu / len(inside) if inside else None
    seconds = end.t - start.t
    memory = [mb for t, mb in rss if start.t <= t <= end.t]
    return Window(
        name=name,
        minutes=round(seconds / 60, 2),
        segments=len(inside),
        tagged_segments=sum(1 for r in inside if _tagged(r)),
        segments_with_chat=sum(1 for r in inside if (r.features.get("chat_messages") or 0) > 0),
        cpu_s=round(cpu, 2),
        cpu_s_per_segment=_round(per_segment),
        ratio_to_decode=_round(per_segment / decode_s if per_segment is not None and decode_s > 0 else None, 2),
        segments_per_10s=round(len(inside) / seconds * SEGMENT_SECONDS, 2) if seconds > 0 else 0.0,
        needed_per_10s=float(streams),
        lag_p50_s=_round(percentile(lags, 50), 2),
        lag_p95_s=_round(percentile(lags, 95), 2),
        lag_max_s=_round(max(lags) if lags else None, 2),
        lag_p95_tagged_s=_round(percentile([lag_s(r) for r in inside if _tagged(r)], 95), 2),
        lag_p95_untagged_s=_round(percentile([lag_s(r) for r in inside if not _tagged(r)], 95), 2),
        peak_rss_mb=_round(max(memory) if memory else None, 0),
    )


def windows(
    marks: Sequence[Mark],
    reports: Sequence[SegmentReport],
    rss: Sequence[tuple[float, float]],
    streams: int,
    decode_s: float,
) -> list[Window]:
    """The whole measurement; from 20 minutes on also its first and its last ten, so that growth
    in CPU, memory or lag over a long run shows. `marks` are taken once a minute."""
    args = (reports, rss, streams, decode_s)
    found = [window("all", marks[0], marks[-1], *args)]
    if marks[-1].t - marks[0].t >= 20 * 60 - 1:
        first = next(m for m in marks if m.t - marks[0].t >= 10 * 60 - 1)
        last = next(m for m in reversed(marks) if marks[-1].t - m.t >= 10 * 60 - 1)
        found += [window("first 10 min", marks[0], first, *args), window("last 10 min", last, marks[-1], *args)]
    return found


def to_dict(w: Window) -> dict:
    return asdict(w)


TABLE_HEADER = (
    "| streams | stretch | audio tags | server CPU-s per 10 s segment (incl. ffmpeg) | ratio to decoding | "
    "segments scored per 10 s (needed) | lag p50 / p95 / max (s) | peak RSS (MB) |\n"
    "|---|---|---|---|---|---|---|---|"
)


def table_row(streams: int, tags: str, w: Window) -> str:
    lag = " / ".join(fmt(v, 2) for v in (w.lag_p50_s, w.lag_p95_s, w.lag_max_s))
    tagged = f"{tags} ({w.tagged_segments}/{w.segments} tagged)" if tags != "off" else "off"
    return (
        f"| {streams} | {w.name}, {w.minutes:g} min | {tagged} | {fmt(w.cpu_s_per_segment, 3)} | "
        f"{fmt(w.ratio_to_decode, 2)}{'x' if w.ratio_to_decode is not None else ''} | {w.segments_per_10s:.2f} ({w.needed_per_10s:g}) | {lag} | "
        f"{fmt(w.peak_rss_mb, 0)} |"
    )


def _tagged(report: SegmentReport) -> bool:
    return any(k.startswith("audio_tag:") and v is not None for k, v in report.features.items())


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"
