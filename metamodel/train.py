"""Train the metamodel on labelled segments and measure it honestly.

Honest means: cross-validation grouped by stream (neighbouring 10 s segments of one stream are
nearly copies of each other; the prototype's shuffled K-fold over them reported an inflated
0.82 ROC AUC), and every fold's F1/precision is measured at a threshold chosen on the OTHER
folds' out-of-fold scores, never on the fold itself. The final model is fit on all rows and its
threshold chosen on all out-of-fold scores for the stated objective.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

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
from metamodel.schema import group_of

SEED = 0
SEGMENT_SECONDS = 10.0
MAX_FOLDS = 5
BASELINES = {"chat only": ("chat",), "audio only": ("audio", "audio_tag")}


@dataclass(frozen=True)
class Objective:
    """How the threshold is chosen: max F1, or the lowest threshold giving at most `per_hour`
    highlights per hour of stream (a viewer's budget of clips)."""

    per_hour: float | None = None

    def describe(self) -> str:
        return "max F1" if self.per_hour is None else f"at most {self.per_hour:g} highlights per hour"


def make_pipeline() -> Pipeline:
    """Mean imputation, standardisation, class-weighted logistic regression (fixed seed).

    Imputing at the training mean is exactly what the artifact does with a missing value
    (its term becomes 0), so the JSON model scores like this pipeline.
    """
    return Pipeline([
        ("impute", SimpleImputer(strategy="mean", keep_empty_features=True)),
        ("scale", StandardScaler()),
        ("logreg", LogisticRegression(class_weight="balanced", random_state=SEED, max_iter=2000)),
    ])


def grouped_splits(streams: np.ndarray, n_splits: int = MAX_FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row indices; each stream's rows all land on one side of every split."""
    n_streams = len(set(streams))
    if n_streams < 2:
        raise DatasetError("cross-validation needs at least 2 streams (the `stream` column); label another VOD")
    folds = GroupKFold(n_splits=min(n_splits, n_streams))
    return list(folds.split(np.zeros(len(streams)), groups=streams))


def count_highlights(flags: np.ndarray, streams: np.ndarray, order: np.ndarray) -> int:
    """Runs of consecutive flagged segments within each stream: what the selector would publish."""
    total = 0
    for stream in set(streams):
        rows = np.flatnonzero(streams == stream)
        f = flags[rows[np.argsort(order[rows], kind="stable")]].astype(int)
        total += int(f[0]) + int(np.sum((f[1:] == 1) & (f[:-1] == 0)))
    return total


def score_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float, streams: np.ndarray,
                  order: np.ndarray, segment_seconds: float = SEGMENT_SECONDS) -> dict:
    """ROC AUC, PR AUC, and at the threshold: F1, precision, recall, highlights per hour."""
    flags = scores >= threshold
    tp = int(np.sum(flags & (labels == 1)))
    precision = tp / flags.sum() if flags.any() else math.nan
    recall = tp / labels.sum() if labels.any() else math.nan
    f1 = 2 * tp / (flags.sum() + labels.sum()) if (flags.sum() + labels.sum()) else math.nan
    both = len(set(labels.tolist())) == 2
    hours = len(labels) * segment_seconds / 3600
    return {
        "rows": int(len(labels)), "positives": int(labels.sum()),
        "roc_auc": float(roc_auc_score(labels, scores)) if both else math.nan,
        "pr_auc": float(average_precision_score(labels, scores)) if both else math.nan,
        "f1": float(f1), "precision": float(precision), "recall": float(recall),
        "highlights_per_hour": count_highlights(flags, streams, order) / hours,
        "threshold": float(threshold),
    }


def choose_threshold(labels: np.ndarray, scores: np.ndarray, objective: Objective, streams: np.ndarray,
                     order: np.ndarray, segment_seconds: float = SEGMENT_SECONDS) -> float:
    """The threshold (strictly inside (0, 1)) that best meets the objective on these scores."""
    candidates = np.unique(np.quantile(scores, np.linspace(0, 1, 201)))
    if objective.per_hour is None:
        def f1(t: float) -> float:
            flags = scores >= t
            return 2 * np.sum(flags & (labels == 1)) / max(flags.sum() + labels.sum(), 1)
        best = max(candidates, key=lambda t: (f1(t), t))  # ties: the stricter threshold
    else:
        hours = len(scores) * segment_seconds / 3600
        fitting = [t for t in candidates
                   if count_highlights(scores >= t, streams, order) / hours <= objective.per_hour]
        best = min(fitting) if fitting else float(np.max(scores))
    return float(np.clip(best, 1e-6, 1 - 1e-6))


def cross_validate(data: TrainingData, features: Sequence[str], splits, objective: Objective,
                   segment_seconds: float = SEGMENT_SECONDS) -> dict:
    """Per-fold metrics, their means, and the pooled out-of-fold scores for `features`."""
    x, y = data.columns(features), data.labels
    oof = np.full(len(y), np.nan)
    for train, test in splits:
        if len(set(y[train].tolist())) < 2:
            raise DatasetError("a training fold has only one class: label more highlights or more streams")
        oof[test] = make_pipeline().fit(x[train], y[train]).predict_proba(x[test])[:, 1]
    folds = []
    for k, (train, test) in enumerate(splits):
        others = np.setdiff1d(np.arange(len(y)), test)
        threshold = choose_threshold(y[others], oof[others], objective, data.streams[others], data.order[others],
                                     segment_seconds)
        fold = score_metrics(y[test], oof[test], threshold, data.streams[test], data.order[test], segment_seconds)
        fold["fold"], fold["test_streams"] = k, sorted(set(data.streams[test].tolist()))
        folds.append(fold)
    keys = ("roc_auc", "pr_auc", "f1", "precision", "recall", "highlights_per_hour")
    mean = {key: _nanmean([f[key] for f in folds]) for key in keys}
    return {"features": list(features), "folds": folds, "mean": mean, "oof_scores": oof}


def fit_metamodel(data: TrainingData, features: Sequence[str], threshold: float) -> Metamodel:
    """Fit the pipeline on every row and carry its numbers into a JSON-able Metamodel."""
    pipeline = make_pipeline().fit(data.columns(features), data.labels)
    scaler, logreg = pipeline.named_steps["scale"], pipeline.named_steps["logreg"]
    return Metamodel(list(features), scaler.mean_.tolist(), scaler.scale_.tolist(), logreg.coef_[0].tolist(),
                     float(logreg.intercept_[0]), threshold)


def train(data: TrainingData, objective: Objective = Objective(), source: Path | None = None,
          segment_seconds: float = SEGMENT_SECONDS) -> tuple[Metamodel, dict]:
    """Cross-validate the full model and the baselines, then fit the model on all rows.

    Returns the artifact (with provenance and metrics) and the full report, out-of-fold scores
    included (for the PR curve).
    """
    features = [f for f in data.features if not np.all(np.isnan(data.columns([f])))]
    if not features:
        raise DatasetError("every feature column is empty")
    if data.labels.sum() == 0 or data.labels.sum() == len(data.labels):
        raise DatasetError("labels must contain both highlights (1) and other segments (0)")
    splits = grouped_splits(data.streams)
    report = {"objective": objective.describe(), "models": {"metamodel": cross_validate(data, features, splits,
                                                                                        objective, segment_seconds)}}
    for name, groups in BASELINES.items():
        subset = [f for f in features if group_of(f) in groups]
        if subset:
            report["models"][name] = cross_validate(data, subset, splits, objective, segment_seconds)
    full = report["models"]["metamodel"]
    threshold = choose_threshold(data.labels, full["oof_scores"], objective, data.streams, data.order,
                                 segment_seconds)
    model = fit_metamodel(data, features, round(threshold, 6))
    report["threshold"] = model.threshold
    report["dropped_features"] = [f for f in data.features if f not in features]
    provenance = _provenance(data, source, features, objective, len(splits))
    metrics = {name: {"features": r["features"], "mean": r["mean"], "folds": r["folds"]}
               for name, r in report["models"].items()}
    # The baselines travel in the artifact so `evaluate` can score them on held-out data too.
    for name in BASELINES:
        if name in report["models"]:
            r = report["models"][name]
            t = choose_threshold(data.labels, r["oof_scores"], objective, data.streams, data.order, segment_seconds)
            metrics[name]["model"] = fit_metamodel(data, r["features"], round(t, 6)).to_dict()
    metrics = json_safe({"cross_validation": metrics, "objective": objective.describe()})
    return Metamodel(model.features, model.mean, model.scale, model.coef, model.intercept, model.threshold,
                     provenance, metrics), report


def _provenance(data: TrainingData, source: Path | None, features: Sequence[str], objective: Objective,
                n_folds: int) -> dict:
    provenance = {
        "trained_by": "python -m metamodel train",
        "trained_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scikit_learn": sklearn.__version__,
        "pipeline": "SimpleImputer(mean) -> StandardScaler -> LogisticRegression(class_weight=balanced, "
                    f"random_state={SEED})",
        "rows": int(len(data)), "positives": int(data.labels.sum()), "streams": sorted(set(data.streams.tolist())),
        "cross_validation": f"GroupKFold by stream, {n_folds} folds",
        "threshold": f"{objective.describe()} on the pooled out-of-fold scores",
        "features_dropped": [f for f in data.features if f not in features],
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
