"""Score a held-out training CSV with a saved artifact: the same report as training, per stream.

Scoring goes through the JSON artifact (`Metamodel.score`), exactly as the server scores, not
through scikit-learn: what is measured here is what runs live.
"""

from __future__ import annotations

import math

import numpy as np

from metamodel.artifact import Metamodel, MetamodelError
from metamodel.dataset import DatasetError, TrainingData
from metamodel.train import SEGMENT_SECONDS, score_metrics


def score_rows(model: Metamodel, data: TrainingData) -> np.ndarray:
    """The model's probability for every row; a feature the data lacks counts as missing."""
    missing = [f for f in model.features if f not in data.features]
    present = [f for f in model.features if f in data.features]
    matrix = data.columns(present)
    scores = []
    for row in matrix:
        values: dict[str, float | None] = {name: (None if math.isnan(v) else float(v)) for name, v in zip(present, row)}
        values.update(dict.fromkeys(missing))
        scores.append(model.score(values))
    return np.array(scores)


def evaluate_model(model: Metamodel, data: TrainingData, segment_seconds: float = SEGMENT_SECONDS) -> dict:
    """Metrics over all rows ("mean") and per held-out stream ("folds"), at the model's threshold."""
    scores = score_rows(model, data)
    folds = []
    for k, stream in enumerate(sorted(set(data.streams.tolist()))):
        rows = data.streams == stream
        fold = score_metrics(data.labels[rows], scores[rows], model.threshold, data.streams[rows], data.order[rows],
                             segment_seconds)
        fold["fold"], fold["test_streams"] = k, [stream]
        folds.append(fold)
    overall = score_metrics(data.labels, scores, model.threshold, data.streams, data.order, segment_seconds)
    return {"features": model.features, "folds": folds, "mean": overall, "scores": scores}


def evaluate(model: Metamodel, data: TrainingData, segment_seconds: float = SEGMENT_SECONDS) -> dict:
    """The metamodel and the baselines stored in its artifact, on held-out data."""
    if not set(model.features) & set(data.features):
        raise DatasetError("the data has none of the model's features")
    report = {"objective": model.metrics.get("objective", "unknown"), "threshold": model.threshold, "summary": "all",
              "missing_features": [f for f in model.features if f not in data.features],
              "footer": "ROC/PR AUC are threshold-free; F1, precision (of flagged segments), recall and highlights "
                        "per hour are at the model's own threshold (each baseline at its own).",
              "models": {"metamodel": evaluate_model(model, data, segment_seconds)}}
    for name, result in (model.metrics.get("cross_validation") or {}).items():
        if isinstance(result, dict) and isinstance(result.get("model"), dict):
            try:
                baseline = Metamodel.from_dict(result["model"])
            except MetamodelError:
                continue  # a damaged baseline does not stop the main report
            report["models"][name] = evaluate_model(baseline, data, segment_seconds)
    return report
