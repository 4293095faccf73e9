"""Train the metamodel on labelled segments and measure it honestly, at a highlight budget.

The objective is a budget, not a probability threshold: the product publishes a stream's best
moments at `per_hour` highlights per hour (metamodel/selection.py, the one selector), so training
measures what that selector publishes from the model's scores at that budget:

- highlights per hour: highlights the selector published / hours of the rows;
- precision: the share of published highlights that overlap a positive moment (`overlaps`);
- recall: the share of positive moments that some highlight overlaps. A positive moment is a
  maximal run of consecutive positive segments of one stream (`positive_moments`): a labelled
  clip covering three segments is one moment, found or missed as a whole;
- and the threshold-free ROC AUC and PR AUC (average precision) of the segment scores.
A highlight is the clip as published: first_seq..last_seq, the selector's lead-in included.

Honest means: cross-validation grouped by stream (neighbouring 10 s segments of one stream are
nearly copies of each other; the prototype's shuffled K-fold over them reported an inflated
0.82 ROC AUC), so no stream is ever on both sides of a split. Nothing is tuned on a test fold:
the model is fit on the other folds, and the selector runs per stream, online, over that
stream's own out-of-fold scores (its bar comes from the stream's previous scores only) at the
budget given before any data is seen.

Baselines, scored and selected at the same budget on the same folds: the same pipeline on one
feature group ("chat only", "audio only"), and single signals scored by their raw value with no
fitting at all (SIGNAL_BASELINES: message count, message-rate ratio, loudness, motion). A model
that cannot beat one raw number is not worth shipping; the report says LOSES when it does not.

Features (`--features`): by default the stream-relative `rank:*` columns (metamodel/ranks.py),
which mean the same on a 20-viewer and a 50,000-viewer channel; raw absolute counts and levels
do not generalise across channels and must not decide. `raw` and `all` exist for comparison.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sklearn
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from metamodel.artifact import Metamodel
from metamodel.dataset import DatasetError, TrainingData
from metamodel.schema import RANK_PREFIX, group_of
from metamodel.selection import DEFAULT_PER_HOUR, SEGMENT_SECONDS, Highlight, select, validate_per_hour

SEED = 0
MAX_FOLDS = 5
FEATURE_SETS = ("rank", "raw", "all")
GROUP_BASELINES = {"chat only": ("chat",), "audio only": ("audio", "audio_tag")}
# report name -> raw column. Each scored by its value alone (more messages = more of a highlight).
SIGNAL_BASELINES = {
    "message count": "chat_messages",
    "message-rate ratio": "chat_rate_ratio",
    "loudness": "audio_loudness",
    "motion": "motion_mean",
}
# The figures a baseline is compared on: threshold-free ranking, and what viewers see (precision).
COMPARED = {"roc_auc": "ROC AUC", "precision": "precision"}


@dataclass(frozen=True)
class Objective:
    """The highlight budget the model is measured at and ships with (highlights per hour)."""

    per_hour: float = DEFAULT_PER_HOUR

    def __post_init__(self) -> None:
        validate_per_hour(self.per_hour)

    def describe(self) -> str:
        return f"a budget of {self.per_hour:g} highlights per hour (metamodel/selection.py)"


def choose_features(available: Sequence[str], which: str = "rank") -> list[str]:
    """The columns to train on: `rank` (stream-relative, the default), `raw` or `all`."""
    if which not in FEATURE_SETS:
        raise ValueError(f"feature set must be one of {', '.join(FEATURE_SETS)}, got {which!r}")
    ranked = [f for f in available if f.startswith(RANK_PREFIX)]
    raw = [f for f in available if not f.startswith(RANK_PREFIX)]
    chosen = {"rank": ranked, "raw": raw, "all": list(available)}[which]
    if not chosen:
        hint = (
            " (add them with `python -m metamodel dataset`, which keeps the server's rank:* values)"
            if which == "rank"
            else ""
        )
        raise DatasetError(f"the data has no {which} feature columns{hint}")
    return chosen


def make_pipeline() -> Pipeline:
    """Mean imputation, standardisation, class-weighted logistic regression (fixed seed).

    Imputing at the training mean is exactly what the artifact does with a missing value
    (its term becomes 0), so the JSON model scores like this pipeline.
    """
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="mean", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("logreg", LogisticRegression(class_weight="balanced", random_state=SEED, max_iter=2000)),
        ]
    )


def grouped_splits(streams: np.ndarray, n_splits: int = MAX_FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row indices; each stream's rows all land on one side of every split."""
    n_streams = len(set(streams))
    if n_streams < 2:
        raise DatasetError("cross-validation needs at least 2 streams (the `stream` column); label another VOD")
    folds = GroupKFold(n_splits=min(n_splits, n_streams))
    return list(folds.split(np.zeros(len(streams)), groups=streams))


def segment_seqs(data: TrainingData, segment_seconds: float = SEGMENT_SECONDS) -> np.ndarray:
    """Each row's segment number: its `seq`, or its `start` in segments when it has no seq.

    The selector needs them: a gap in the numbers (segments left out of the data) ends a run.
    """
    from_start = np.round(np.nan_to_num(data.start) / segment_seconds)
    return np.where(np.isnan(data.seq), from_start, data.seq).astype(int)


def pick_highlights(
    streams: np.ndarray, seqs: np.ndarray, scores: np.ndarray, per_hour: float, segment_seconds: float = SEGMENT_SECONDS
) -> dict[str, list[Highlight]]:
    """What the product publishes: `select` per stream over its rows in segment order.

    A row whose score is NaN (a baseline's signal missing there) is not shown to the selector:
    it cannot pick what it cannot see, and the gap ends a run.
    """
    picked = {}
    for stream in sorted(set(streams.tolist())):
        rows = np.flatnonzero(streams == stream)
        rows = rows[np.argsort(seqs[rows], kind="stable")]
        pairs = [(int(seqs[i]), float(scores[i])) for i in rows if not math.isnan(scores[i])]
        picked[stream] = select(pairs, per_hour, segment_seconds)
    return picked


def positive_moments(seqs: np.ndarray, labels: np.ndarray) -> list[tuple[int, int]]:
    """(first_seq, last_seq) of each maximal run of consecutive positive segments of ONE stream."""
    positive = np.unique(seqs[labels == 1])
    if not len(positive):
        return []
    breaks = np.flatnonzero(np.diff(positive) != 1)
    firsts = np.concatenate([[positive[0]], positive[breaks + 1]])
    lasts = np.concatenate([positive[breaks], [positive[-1]]])
    return [(int(a), int(b)) for a, b in zip(firsts, lasts, strict=True)]


def overlaps(highlight: Highlight, moment: tuple[int, int]) -> bool:
    """Does a published highlight (lead-in included) share at least one segment with a moment?

    The one overlap rule of training and evaluation: precision counts highlights that overlap
    some moment, recall counts moments that some highlight overlaps.
    """
    return highlight.first_seq <= moment[1] and moment[0] <= highlight.last_seq


def highlight_metrics(
    streams: np.ndarray, seqs: np.ndarray, labels: np.ndarray, picked: Mapping[str, list[Highlight]]
) -> dict:
    """Counts, precision and recall of the picked highlights against the positive moments."""
    highlights = hits = moments = found = 0
    for stream, chosen in picked.items():
        rows = streams == stream
        stream_moments = positive_moments(seqs[rows], labels[rows])
        highlights += len(chosen)
        moments += len(stream_moments)
        hits += sum(any(overlaps(h, m) for m in stream_moments) for h in chosen)
        found += sum(any(overlaps(h, m) for h in chosen) for m in stream_moments)
    return {
        "highlights": highlights,
        "hits": hits,
        "moments": moments,
        "found": found,
        "precision": hits / highlights if highlights else math.nan,
        "recall": found / moments if moments else math.nan,
    }


def score_metrics(
    labels: np.ndarray,
    scores: np.ndarray,
    streams: np.ndarray,
    seqs: np.ndarray,
    per_hour: float,
    segment_seconds: float = SEGMENT_SECONDS,
) -> dict:
    """Every figure of the report for these rows: ROC AUC, PR AUC, and at the budget: highlights
    per hour, precision of highlights and recall of moments. NaN scores are missing values (they
    rank lowest and are never selected)."""
    both = len(set(labels.tolist())) == 2
    known = scores[~np.isnan(scores)]
    ranked = np.where(np.isnan(scores), (known.min() - 1.0) if len(known) else 0.0, scores)
    picked = pick_highlights(streams, seqs, scores, per_hour, segment_seconds)
    hours = len(labels) * segment_seconds / 3600
    counts = highlight_metrics(streams, seqs, labels, picked)
    return {
        "rows": int(len(labels)),
        "positives": int(labels.sum()),
        "roc_auc": float(roc_auc_score(labels, ranked)) if both else math.nan,
        "pr_auc": float(average_precision_score(labels, ranked)) if both else math.nan,
        "highlights_per_hour": counts["highlights"] / hours if hours else math.nan,
        **counts,
    }


COUNT_KEYS = ("rows", "positives", "highlights", "hits", "moments", "found")


def summarise(folds: Sequence[Mapping], segment_seconds: float = SEGMENT_SECONDS) -> dict:
    """The "all" line: ROC and PR AUC averaged over folds (each fold ranks its own rows), and the
    budget's figures pooled: counts summed, then highlights per hour, precision and recall of the
    sums, so a fold with one highlight does not weigh as much as a fold with nine."""
    total = {key: int(sum(f[key] for f in folds)) for key in COUNT_KEYS}
    hours = total["rows"] * segment_seconds / 3600
    return {
        "roc_auc": _nanmean([f["roc_auc"] for f in folds]),
        "pr_auc": _nanmean([f["pr_auc"] for f in folds]),
        "highlights_per_hour": total["highlights"] / hours if hours else math.nan,
        "precision": total["hits"] / total["highlights"] if total["highlights"] else math.nan,
        "recall": total["found"] / total["moments"] if total["moments"] else math.nan,
        **total,
    }


def fold_report(
    data: TrainingData,
    scores: np.ndarray,
    splits,
    per_hour: float,
    seqs: np.ndarray,
    segment_seconds: float = SEGMENT_SECONDS,
) -> dict:
    """Per-fold figures of `scores` (one per row) and their summary ("mean", printed as "all")."""
    folds = []
    for k, (_, test) in enumerate(splits):
        fold = score_metrics(data.labels[test], scores[test], data.streams[test], seqs[test], per_hour, segment_seconds)
        fold["fold"], fold["test_streams"] = k, sorted(set(data.streams[test].tolist()))
        folds.append(fold)
    return {"folds": folds, "mean": summarise(folds, segment_seconds)}


def cross_validate(
    data: TrainingData, features: Sequence[str], splits, objective: Objective, segment_seconds: float = SEGMENT_SECONDS
) -> dict:
    """Per-fold metrics, their summary, and the pooled out-of-fold scores for `features`."""
    x, y = data.columns(features), data.labels
    oof = np.full(len(y), np.nan)
    for train_rows, test in splits:
        if len(set(y[train_rows].tolist())) < 2:
            raise DatasetError("a training fold has only one class: label more highlights or more streams")
        oof[test] = make_pipeline().fit(x[train_rows], y[train_rows]).predict_proba(x[test])[:, 1]
    report = fold_report(data, oof, splits, objective.per_hour, segment_seqs(data, segment_seconds), segment_seconds)
    return {"features": list(features), **report, "oof_scores": oof}


def signal_baseline(
    data: TrainingData, column: str, splits, objective: Objective, segment_seconds: float = SEGMENT_SECONDS
) -> dict:
    """A single raw signal as the score, nothing fitted, on the same folds and budget."""
    scores = data.columns([column])[:, 0]
    report = fold_report(data, scores, splits, objective.per_hour, segment_seqs(data, segment_seconds), segment_seconds)
    return {"features": [column], **report, "oof_scores": scores}


def compare_to_baseline(model: Mapping, baseline: Mapping) -> dict[str, tuple[float, float]]:
    """The figures (COMPARED) on which the baseline is higher than the model: {metric: (model, baseline)}.

    The one rule for "the model loses to a baseline". Exact comparison, no significance test; a
    figure either side lacks (NaN or None: no highlight, no positive) is not compared.
    """
    losses = {}
    for key in COMPARED:
        a, b = model.get(key), baseline.get(key)
        if a is None or b is None or math.isnan(a) or math.isnan(b):
            continue
        if b > a:
            losses[key] = (float(a), float(b))
    return losses


def verdict(models: Mapping[str, Mapping]) -> list[str]:
    """One line per baseline the metamodel loses to ("LOSES to message count: ROC AUC 0.700 vs
    0.760"), or one line saying it beats them all; from a report's "models", on their "all" lines."""
    model = models["metamodel"]["mean"]
    lines = []
    for name, result in models.items():
        if name == "metamodel":
            continue
        losses = compare_to_baseline(model, result["mean"])
        if losses:
            figures = ", ".join(
                f"{COMPARED[k]} {a:.3f}{_counts(model, k)} vs {b:.3f}{_counts(result['mean'], k)}"
                for k, (a, b) in losses.items()
            )
            lines.append(f"LOSES to {name}: {figures}")
    if not lines and len(models) > 1:
        lines.append(f"beats or ties every baseline on {' and '.join(COMPARED.values())}")
    return lines


def _counts(summary: Mapping, key: str) -> str:
    """The counts behind a precision, e.g. " (6/7)": with a handful of highlights, one hit decides."""
    if key == "precision" and "hits" in summary and "highlights" in summary:
        return f" ({summary['hits']}/{summary['highlights']})"
    return ""


def fit_metamodel(data: TrainingData, features: Sequence[str], per_hour: float) -> Metamodel:
    """Fit the pipeline on every row and carry its numbers into a JSON-able Metamodel."""
    pipeline = make_pipeline().fit(data.columns(features), data.labels)
    scaler, logreg = pipeline.named_steps["scale"], pipeline.named_steps["logreg"]
    return Metamodel(
        list(features),
        scaler.mean_.tolist(),
        scaler.scale_.tolist(),
        logreg.coef_[0].tolist(),
        float(logreg.intercept_[0]),
        per_hour,
    )


def train(
    data: TrainingData,
    objective: Objective = Objective(),
    source: Path | None = None,
    segment_seconds: float = SEGMENT_SECONDS,
    feature_set: str = "rank",
) -> tuple[Metamodel, dict]:
    """Cross-validate the model and the baselines at the budget, then fit the model on all rows.

    Returns the artifact (with provenance and metrics) and the full report, out-of-fold scores
    included (for the PR curve).
    """
    candidates = choose_features(data.features, feature_set)
    features = [f for f in candidates if not np.all(np.isnan(data.columns([f])))]
    if not features:
        raise DatasetError(f"every {feature_set} feature column is empty")
    if data.labels.sum() == 0 or data.labels.sum() == len(data.labels):
        raise DatasetError("labels must contain both highlights (1) and other segments (0)")
    splits = grouped_splits(data.streams)
    models = {"metamodel": cross_validate(data, features, splits, objective, segment_seconds)}
    for name, groups in GROUP_BASELINES.items():
        subset = [f for f in features if group_of(f) in groups]
        if subset:
            models[name] = cross_validate(data, subset, splits, objective, segment_seconds)
    for name, column in SIGNAL_BASELINES.items():
        if column in data.features and not np.all(np.isnan(data.columns([column]))):
            models[name] = signal_baseline(data, column, splits, objective, segment_seconds)
    report = {
        "objective": objective.describe(),
        "per_hour": objective.per_hour,
        "feature_set": feature_set,
        "summary": "all",
        "models": models,
        "verdict": verdict(models),
        "dropped_features": [f for f in candidates if f not in features],
        "missing_baselines": [name for name in SIGNAL_BASELINES if name not in models],
    }
    model = fit_metamodel(data, features, objective.per_hour)
    provenance = _provenance(data, source, features, objective, feature_set, len(splits))
    metrics = {name: {"features": r["features"], "mean": r["mean"], "folds": r["folds"]} for name, r in models.items()}
    # The group baselines travel in the artifact as models, so `evaluate` can score them on held-out
    # data too (the signal baselines need no model: evaluate reads their raw columns).
    for name in GROUP_BASELINES:
        if name in models:
            metrics[name]["model"] = fit_metamodel(data, models[name]["features"], objective.per_hour).to_dict()
    metrics = json_safe({"cross_validation": metrics, "objective": objective.describe(), "verdict": report["verdict"]})
    return Metamodel(
        model.features, model.mean, model.scale, model.coef, model.intercept, model.per_hour, provenance, metrics
    ), report


def _provenance(
    data: TrainingData,
    source: Path | None,
    features: Sequence[str],
    objective: Objective,
    feature_set: str,
    n_folds: int,
) -> dict:
    provenance = {
        "trained_by": "python -m metamodel train",
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scikit_learn": sklearn.__version__,
        "pipeline": "SimpleImputer(mean) -> StandardScaler -> LogisticRegression(class_weight=balanced, "
        f"random_state={SEED})",
        "rows": int(len(data)),
        "positives": int(data.labels.sum()),
        "streams": sorted(set(data.streams.tolist())),
        "cross_validation": f"GroupKFold by stream, {n_folds} folds",
        "feature_set": feature_set,
        "highlights_per_hour": f"{objective.describe()}: measured at it and shipped as the default budget",
        "features_dropped": [f for f in choose_features(data.features, feature_set) if f not in features],
    }
    if source is not None:
        provenance["data"] = {"file": source.name, "sha256": hashlib.sha256(source.read_bytes()).hexdigest()}
    return provenance


def json_safe(value):
    """NaN (an undefined metric, e.g. ROC AUC of a fold with one class) becomes null in JSON."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan
