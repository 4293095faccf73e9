"""Score a held-out training CSV with a saved artifact: the same report as training, per stream.

Scoring goes through the JSON artifact (`Metamodel.score`), exactly as the server scores, not
through scikit-learn: what is measured here is what runs live. Highlights are picked by the one
selector at the artifact's budget (`highlights_per_hour`) unless another is asked for, and the
metrics are training's (metamodel/train.py): ROC AUC, PR AUC, highlights per hour, precision of
highlights, recall of positive moments. Baselines: the group models stored in the artifact
("chat only", "audio only") and the single raw signals present in the data.
"""

from __future__ import annotations

import math

import numpy as np

from metamodel.artifact import Metamodel, MetamodelError
from metamodel.dataset import DatasetError, TrainingData
from metamodel.selection import SEGMENT_SECONDS, validate_per_hour
from metamodel.train import SIGNAL_BASELINES, score_metrics, segment_seqs, summarise, verdict


def score_rows(model: Metamodel, data: TrainingData) -> np.ndarray:
    """The model's probability for every row; a feature the data lacks counts as missing."""
    missing = [f for f in model.features if f not in data.features]
    present = [f for f in model.features if f in data.features]
    matrix = data.columns(present)
    scores = []
    for row in matrix:
        values: dict[str, float | None] = {
            name: (None if math.isnan(v) else float(v)) for name, v in zip(present, row, strict=True)
        }
        values.update(dict.fromkeys(missing))
        scores.append(model.score(values))
    return np.array(scores)


def evaluate_scores(
    data: TrainingData, scores: np.ndarray, per_hour: float, segment_seconds: float = SEGMENT_SECONDS
) -> dict:
    """Metrics per held-out stream ("folds") and their summary ("mean", shown as "all": AUCs averaged
    over streams, the budget's figures pooled), as training summarises its folds."""
    seqs = segment_seqs(data, segment_seconds)
    folds = []
    for k, stream in enumerate(sorted(set(data.streams.tolist()))):
        rows = data.streams == stream
        fold = score_metrics(data.labels[rows], scores[rows], data.streams[rows], seqs[rows], per_hour, segment_seconds)
        fold["fold"], fold["test_streams"] = k, [stream]
        folds.append(fold)
    return {"folds": folds, "mean": summarise(folds, segment_seconds), "scores": scores}


def evaluate(
    model: Metamodel, data: TrainingData, segment_seconds: float = SEGMENT_SECONDS, per_hour: float | None = None
) -> dict:
    """The metamodel and the baselines on held-out data, at the artifact's budget or `per_hour`."""
    if not set(model.features) & set(data.features):
        raise DatasetError("the data has none of the model's features")
    budget = validate_per_hour(per_hour) if per_hour is not None else model.per_hour
    models = {
        "metamodel": {
            "features": model.features,
            **evaluate_scores(data, score_rows(model, data), budget, segment_seconds),
        }
    }
    for name, result in (model.metrics.get("cross_validation") or {}).items():
        if isinstance(result, dict) and isinstance(result.get("model"), dict):
            try:
                baseline = Metamodel.from_dict(result["model"])
            except MetamodelError:
                continue  # a damaged baseline does not stop the main report
            if set(baseline.features) & set(data.features):
                models[name] = {
                    "features": baseline.features,
                    **evaluate_scores(data, score_rows(baseline, data), budget, segment_seconds),
                }
    for name, column in SIGNAL_BASELINES.items():
        if column in data.features and not np.all(np.isnan(data.columns([column]))):
            models[name] = {
                "features": [column],
                **evaluate_scores(data, data.columns([column])[:, 0], budget, segment_seconds),
            }
    return {
        "objective": f"a budget of {budget:g} highlights per hour"
        + (" (the model's)" if per_hour is None else " (--per-hour)"),
        "per_hour": budget,
        "summary": "all",
        "models": models,
        "verdict": verdict(models),
        "missing_features": [f for f in model.features if f not in data.features],
        "missing_baselines": [name for name in SIGNAL_BASELINES if name not in models],
        "footer": "ROC/PR AUC are threshold-free, over each stream's segments (all: their mean); hl/h, hl, precision (highlights overlapping a "
        "positive moment) and recall (positive moments overlapped by a highlight) are what the "
        "selector publishes at the budget (all: pooled over streams), every model and baseline at the same budget.",
    }
