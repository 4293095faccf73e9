"""The training/evaluation report: a text table and two PNGs (feature importance, PR curve)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from metamodel.artifact import Metamodel

COLUMNS = [("roc_auc", "ROC AUC"), ("pr_auc", "PR AUC"), ("f1", "F1"), ("precision", "prec"),
           ("recall", "recall"), ("highlights_per_hour", "hl/h")]


def format_report(report: dict, title: str) -> str:
    """One line per fold (or held-out stream) and a mean line per model, baselines below."""
    lines = [title, f"threshold objective: {report['objective']}; model threshold {report['threshold']:.3f}"]
    if not 0.01 <= report["threshold"] <= 0.99:
        lines.append("warning: this threshold flags almost every segment or almost none: the labels carry "
                     "little signal the features can see (label more streams)")
    if report.get("dropped_features"):
        lines.append(f"left out (no values): {', '.join(report['dropped_features'])}")
    if report.get("missing_features"):
        lines.append(f"not in the data, scored as missing (imputed at the training mean): "
                     f"{', '.join(report['missing_features'])}")
    head = f"{'model':<11} {'fold':<5} {'test streams':<24} {'rows':>5} {'pos':>4} {'thr':>6}"
    lines.append(head + "".join(f" {label:>7}" for _, label in COLUMNS))
    for name, result in report["models"].items():
        for fold in result["folds"]:
            streams = ",".join(fold["test_streams"])
            lines.append(f"{name:<11} {fold['fold']!s:<5} {streams[:24]:<24} {fold['rows']:>5} {fold['positives']:>4} "
                         f"{fold['threshold']:>6.3f}" + _cells(fold))
        lines.append(f"{name:<11} {report.get('summary', 'mean'):<5} {'':<24} {'':>5} {'':>4} {'':>6}" + _cells(result["mean"]))
    lines.append(report.get("footer") or (
        "ROC/PR AUC are threshold-free; F1, precision (of flagged segments), recall and highlights "
        "per hour are at each fold's threshold, chosen without that fold."))
    return "\n".join(lines)


def _cells(metrics: dict) -> str:
    return "".join(f" {_fmt(metrics.get(key))}" for key, _ in COLUMNS)


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'n/a':>7}"
    return f"{value:>7.3f}"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server or in CI
    import matplotlib.pyplot as plt

    return plt


def plot_importance(model: Metamodel, path: Path) -> None:
    """Bar chart of the coefficients: logit change per standard deviation of each feature."""
    plt = _pyplot()
    order = np.argsort(np.abs(model.coef))
    names = [model.features[i] for i in order]
    values = [model.coef[i] for i in order]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.2))
    ax.barh(names, values, color=["#2a7" if v > 0 else "#c44" for v in values])
    ax.axvline(0, color="#333", linewidth=0.8)
    ax.set_xlabel("coefficient (logit per standard deviation)")
    ax.set_title("Metamodel feature importance")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_pr_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]], threshold_points: dict[str, tuple[float, float]],
                   base_rate: float, path: Path, title: str) -> None:
    """Precision-recall curves, one per model, with each model's chosen operating point."""
    from sklearn.metrics import precision_recall_curve

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    for name, (labels, scores) in curves.items():
        precision, recall, _ = precision_recall_curve(labels, scores)
        line, = ax.plot(recall, precision, label=name)
        if name in threshold_points:
            ax.plot(*threshold_points[name], "o", color=line.get_color())
    ax.axhline(base_rate, color="#999", linestyle="--", label=f"chance ({base_rate:.2f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def operating_point(labels: np.ndarray, scores: np.ndarray, threshold: float) -> tuple[float, float]:
    """(recall, precision) at a threshold, for marking on the PR curve."""
    flags = scores >= threshold
    tp = float(np.sum(flags & (labels == 1)))
    return tp / max(labels.sum(), 1), tp / max(flags.sum(), 1)
