"""The quality report: does the model pick highlights better than one raw signal would?

Input per stream: the segments and published highlights of `python -m server.analyze --json`
and the stream's labelled moments (`metamodel.dataset.read_labels`). Output per stream and
overall, for the model and for each single-signal baseline (BASELINES):

- ROC AUC over segments: a segment is positive by `metamodel.dataset.is_positive`, the rule the
  training CSV uses (a labelled moment falls in it, or a labelled clip covers at least half of
  it or lies wholly inside it). The model is ranked by its score, a baseline by its feature; a
  segment whose feature is missing ranks below every segment that has it (a baseline cannot pick
  what it cannot see). Undefined (None) when the stream has no positive or no negative segment.
- precision, recall and number of picks. The model's picks are its published highlights, as
  published (lead-in included). A baseline makes the SAME number of picks as the model did on
  that stream: its windows from the highest value down, skipping a window within `cooldown`
  segments of an earlier pick (the spacing the product's selector keeps between highlights);
  each pick is a clip of `lead_in` segments before the window plus the window, like a
  published highlight. A pick hits when it overlaps a labelled moment (`overlaps`); precision =
  hits / picks, recall = labelled moments overlapped by some pick / labelled moments.
- a verdict: the model LOSES to a baseline when the baseline's figure is higher on any of ROC
  AUC, precision, recall (exact comparison, no significance test).

Overall = the mean over streams of each per-stream figure (a stream without a figure, e.g. no
picks so no precision, is left out of that mean), plus pooled precision and recall (summed hits
over summed picks and labelled moments). The overall verdict compares model and baseline over
the same streams (those where both have the figure).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sklearn.metrics import roc_auc_score

from metamodel.dataset import DatasetError, is_positive
from metamodel.selection import HighlightSelector

Label = tuple[float, float | None]  # (start, end) of a labelled clip; end None for a single moment

# feature -> the name the report gives the baseline that ranks segments by it alone
BASELINES: dict[str, str] = {
    "chat_messages": "message count",
    "chat_rate_ratio": "message-rate ratio",
    "audio_loudness": "loudness",
    "motion_mean": "motion",
}
METRICS: dict[str, str] = {"roc_auc": "ROC AUC", "precision": "precision", "recall": "recall"}


@dataclass(frozen=True)
class Spacing:
    lead_in: int  # segments a clip starts before its picked window
    cooldown: int  # no two picks closer than this many segments (|seq a - seq b| > cooldown)


def product_spacing() -> Spacing:
    """The lead-in and cooldown of the product's highlight selector (its defaults, read from it)."""
    parameters = inspect.signature(HighlightSelector).parameters  # its constructor's defaults
    return Spacing(int(parameters["lead_in"].default), int(parameters["cooldown"].default))


@dataclass(frozen=True)
class StreamRun:
    """One analysed, labelled stream: segments and highlights as `server.analyze` gives them."""

    name: str
    segments: Sequence[Mapping]
    highlights: Sequence[Mapping]
    labels: Sequence[Label]


def overlaps(start: float, end: float, label: Label) -> bool:
    """Does the clip [start, end) overlap a labelled moment (a time inside it) or range (any
    positive length in common)?"""
    lo, hi = label
    if hi is None:
        return start <= lo < end
    return min(end, hi) - max(start, lo) > 0


def roc_auc(positive: Sequence[bool], values: Sequence[float | None]) -> float | None:
    """Segment ROC AUC of `values` (None = missing: ranks lowest); None if undefined."""
    known = [v for v in values if v is not None]
    if not known or all(positive) or not any(positive):
        return None
    floor = min(known) - 1.0
    return float(roc_auc_score([int(p) for p in positive], [floor if v is None else v for v in values]))


def top_picks(values: Sequence[float | None], count: int, cooldown: int) -> list[int]:
    """Indices of up to `count` windows with the highest values, greedily, none within `cooldown`
    of an earlier pick; ties go to the earlier window; missing values are never picked."""
    order = sorted((i for i, v in enumerate(values) if v is not None), key=lambda i: (-values[i], i))  # type: ignore[operator]  # None filtered out
    picks: list[int] = []
    for i in order:
        if len(picks) >= count:
            break
        if all(abs(i - p) > cooldown for p in picks):
            picks.append(i)
    return sorted(picks)


def pick_metrics(spans: Sequence[tuple[float, float]], labels: Sequence[Label]) -> dict:
    """Picks, hits, precision and recall of clips `spans` against the labelled moments."""
    hits = sum(any(overlaps(a, b, label) for label in labels) for a, b in spans)
    found = sum(any(overlaps(a, b, label) for a, b in spans) for label in labels)
    return {
        "picks": len(spans),
        "hits": hits,
        "labels": len(labels),
        "labels_hit": found,
        "precision": hits / len(spans) if spans else None,
        "recall": found / len(labels) if labels else None,
    }


def stream_quality(run: StreamRun, spacing: Spacing) -> dict:
    """Every figure of the report for one stream, the verdict included."""
    segments = run.segments
    positive = [is_positive(float(s["start"]), float(s["end"]), run.labels) for s in segments]
    spans = [(float(h["start"]), float(h["end"])) for h in run.highlights]
    model = {
        "title": "model",
        "available": True,
        "roc_auc": roc_auc(positive, [_number(s.get("score")) for s in segments]),
        **pick_metrics(spans, run.labels),
    }
    baselines = {}
    for feature, title in BASELINES.items():
        values = [_number((s.get("features") or {}).get(feature)) for s in segments]
        if all(v is None for v in values):
            baselines[feature] = {"title": title, "available": False}
            continue
        picks = top_picks(values, model["picks"], spacing.cooldown)
        clips = [(float(segments[max(i - spacing.lead_in, 0)]["start"]), float(segments[i]["end"])) for i in picks]
        baselines[feature] = {
            "title": title,
            "available": True,
            "roc_auc": roc_auc(positive, values),
            **pick_metrics(clips, run.labels),
        }
    end = max(float(s["end"]) for s in segments)
    return {
        "name": run.name,
        "segments": len(segments),
        "positive_segments": sum(positive),
        "labels_after_end": sum(lo >= end for lo, _ in run.labels),
        "model": model,
        "baselines": baselines,
        "verdict": verdict({f: (model, b) for f, b in baselines.items()}),
    }


def compare(model: Mapping, baseline: Mapping) -> dict:
    """Outcome of the model against one baseline: "loses" if the baseline is higher on any metric
    both have, else "beats" if the model is higher on one, "ties" if equal on all, "n/a" if none."""
    pairs = {m: (model[m], baseline[m]) for m in METRICS if model.get(m) is not None and baseline.get(m) is not None}
    losses = {m: pair for m, pair in pairs.items() if pair[0] < pair[1]}
    if losses:
        outcome = "loses"
    elif not pairs:
        outcome = "n/a"
    elif all(a == b for a, b in pairs.values()):
        outcome = "ties"
    else:
        outcome = "beats"
    return {"outcome": outcome, "losses": losses}


def verdict(pairs: Mapping[str, tuple[Mapping, Mapping]]) -> dict:
    """{"outcomes": {feature: compare(...)}, "text": one line} from (model figures, baseline
    figures) per baseline feature, e.g. "LOSES to message count: ROC AUC 0.720 vs 0.770" or
    "beats every baseline". A baseline that is not available is named as having no data."""
    outcomes = {f: compare(m, b) for f, (m, b) in pairs.items() if b["available"]}
    titles = {f: b["title"] for f, (_, b) in pairs.items()}
    unavailable = [titles[f] for f in pairs if f not in outcomes]
    parts = []
    for feature, result in outcomes.items():
        if result["outcome"] == "loses":
            figures = ", ".join(f"{METRICS[m]} {a:.3f} vs {b:.3f}" for m, (a, b) in result["losses"].items())
            parts.append(f"LOSES to {titles[feature]}: {figures}")
    named = {
        kind: [titles[f] for f, r in outcomes.items() if r["outcome"] == kind] for kind in ("ties", "beats", "n/a")
    }
    if outcomes and len(named["beats"]) == len(outcomes):
        parts.append("beats every baseline" + (f" (no data for {', '.join(unavailable)})" if unavailable else ""))
    else:
        for kind, words in (("ties", "ties"), ("beats", "beats"), ("n/a", "no figure to compare with")):
            if named[kind]:
                parts.append(f"{words} {', '.join(named[kind])}")
        if unavailable:
            parts.append(f"no data for {', '.join(unavailable)}")
    return {"outcomes": outcomes, "text": "; ".join(parts) or "nothing to compare"}


def overall_quality(streams: Sequence[Mapping]) -> dict:
    """Means over streams, pooled counts, the paired verdict and how many streams each baseline won."""
    model = _summary([s["model"] for s in streams], "model")
    baselines: dict[str, dict] = {}
    pairs: dict[str, tuple] = {}
    for feature, title in BASELINES.items():
        both = [(s["model"], s["baselines"][feature]) for s in streams if s["baselines"][feature]["available"]]
        if not both:
            baselines[feature] = {"title": title, "available": False}
            pairs[feature] = ({}, baselines[feature])
            continue
        baselines[feature] = _summary([b for _, b in both], title)
        baselines[feature]["streams_won"] = sum(
            s["verdict"]["outcomes"].get(feature, {}).get("outcome") == "loses" for s in streams
        )
        # The verdict compares like with like: each metric over the streams where both have it.
        pairs[feature] = tuple(
            {
                "title": title,
                "available": True,
                **{
                    m: _mean([pair[side][m] for pair in both if pair[0][m] is not None and pair[1][m] is not None])
                    for m in METRICS
                },
            }
            for side in (0, 1)
        )
    return {"streams": len(streams), "model": model, "baselines": baselines, "verdict": verdict(pairs)}


def quality_report(runs: Sequence[StreamRun], spacing: Spacing) -> dict:
    """The whole report as plain JSON-ready data."""
    streams = [stream_quality(run, spacing) for run in runs]
    return {"spacing": dataclasses.asdict(spacing), "streams": streams, "overall": overall_quality(streams)}


def _summary(results: Sequence[Mapping], title: str) -> dict:
    picks, hits = sum(r["picks"] for r in results), sum(r["hits"] for r in results)
    labels, found = sum(r["labels"] for r in results), sum(r["labels_hit"] for r in results)
    return {
        "title": title,
        "available": True,
        "streams": len(results),
        **{m: _mean([r[m] for r in results if r[m] is not None]) for m in METRICS},
        "picks": picks,
        "hits": hits,
        "labels": labels,
        "labels_hit": found,
        "pooled_precision": hits / picks if picks else None,
        "pooled_recall": found / labels if labels else None,
    }


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _number(value: object) -> float | None:
    """A finite number, or None for a missing value (null, NaN); anything else is a bad analysis."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DatasetError(f"a segment's score or feature is {value!r}, not a number: is it server.analyze output?")
    return float(value) if math.isfinite(value) else None


def format_quality_report(report: Mapping) -> str:
    """The report as a readable table: one block per stream, then the overall block."""
    spacing = report["spacing"]
    streams = report["streams"]
    lines = [
        f"Quality report on {len(streams)} labelled stream(s). Each baseline picks as many clips per stream as "
        f"the model published there: its top windows, no two within {spacing['cooldown']} segments of each "
        f"other, each clip with {spacing['lead_in']} segment(s) of lead-in (the product's selector spacing)."
    ]
    header = f"  {'picker':<20} {'ROC AUC':>8} {'picks':>6} {'hits':>5} {'precision':>10} {'found':>7} {'recall':>7}"
    for stream in streams:
        lines += [
            "",
            f"stream {stream['name']}: {stream['segments']} segments, {stream['positive_segments']} positive, "
            f"{stream['model']['labels']} labelled moment(s)",
            header,
        ]
        if stream["labels_after_end"]:
            lines.insert(
                -1,
                f"  warning: {stream['labels_after_end']} labelled moment(s) start after the analysed "
                "recording ends: the wrong labels file, or times not relative to the video's start?",
            )
        if not stream["model"]["picks"]:
            lines.insert(-1, "  note: the model published no highlight here, so the baselines pick none either")
        for row in (stream["model"], *stream["baselines"].values()):
            if not row["available"]:
                lines.append(f"  {row['title']:<20} {'n/a':>8}  no data: the signal is missing on every segment")
                continue
            found = f"{row['labels_hit']}/{row['labels']}"
            lines.append(
                f"  {row['title']:<20} {_fig(row['roc_auc']):>8} {row['picks']:>6} {row['hits']:>5} "
                f"{_fig(row['precision']):>10} {found:>7} {_fig(row['recall']):>7}"
            )
        lines.append(f"  verdict: {stream['verdict']['text']}")
    overall = report["overall"]
    lines += [
        "",
        f"overall: ROC AUC, precision and recall are the mean over the {overall['streams']} stream(s) of each "
        "stream's figure (a stream without that figure is left out); pooled = all hits / all picks, all "
        "labelled moments found / all labelled moments; 'won' = streams where the baseline beat the model "
        "on some figure.",
        f"  {'picker':<20} {'streams':>7} {'ROC AUC':>8} {'precision':>10} {'recall':>7} {'picks':>6} "
        f"{'pooled prec':>12} {'pooled recall':>14} {'won':>4}",
    ]
    for row in (overall["model"], *overall["baselines"].values()):
        if not row["available"]:
            lines.append(f"  {row['title']:<20} {0:>7} {'n/a':>8}  no data on any stream")
            continue
        won = str(row["streams_won"]) if "streams_won" in row else ""
        lines.append(
            f"  {row['title']:<20} {row['streams']:>7} {_fig(row['roc_auc']):>8} {_fig(row['precision']):>10} "
            f"{_fig(row['recall']):>7} {row['picks']:>6} {_fig(row['pooled_precision']):>12} "
            f"{_fig(row['pooled_recall']):>14} {won:>4}"
        )
    lines.append(f"  verdict (each figure compared over the streams where both have it): {overall['verdict']['text']}")
    return "\n".join(lines)


def _fig(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
