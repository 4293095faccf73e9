"""The training/evaluation report: a text table and two PNGs (feature importance, PR curve)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from metamodel.artifact import Metamodel
from metamodel.selection import MIN_HISTORY

COLUMNS = [
    ("roc_auc", "ROC AUC"),
    ("pr_auc", "PR AUC"),
    ("highlights_per_hour", "hl/h"),
    ("precision", "prec"),
    ("recall", "recall"),
]
NAME_WIDTH = 18


def format_report(report: dict, title: str) -> str:
    """One line per fold (or held-out stream) and a mean line per model, baselines below, then the verdict."""
    lines = [title, f"objective: {report['objective']}; features: {report.get('feature_set', 'as in the model')}"]
    if report.get("dropped_features"):
        lines.append(f"left out (no values): {', '.join(report['dropped_features'])}")
    if report.get("missing_features"):
        lines.append(
            f"not in the data, scored as missing (imputed at the training mean): "
            f"{', '.join(report['missing_features'])}"
        )
    if report.get("missing_baselines"):
        lines.append(
            f"baselines without data (their column is absent or empty): {', '.join(report['missing_baselines'])}"
        )
    head = f"{'model':<{NAME_WIDTH}} {'fold':<5} {'test streams':<20} {'rows':>5} {'pos':>4}"
    lines.append(head + "".join(f" {label:>7}" for _, label in COLUMNS) + f" {'hl':>4} {'found':>9}")
    for name, result in report["models"].items():
        for fold in result["folds"]:
            streams = ",".join(fold["test_streams"])
            lines.append(
                f"{name:<{NAME_WIDTH}} {fold['fold']!s:<5} {streams[:20]:<20} {fold['rows']:>5} "
                f"{fold['positives']:>4}" + _cells(fold)
            )
        lines.append(
            f"{name:<{NAME_WIDTH}} {report.get('summary', 'mean'):<5} {'':<20} {'':>5} {'':>4}" + _cells(result["mean"])
        )
    lines.append(
        report.get("footer")
        or (
            "ROC/PR AUC are threshold-free, over segments; hl/h and hl (highlights), prec (share of highlights "
            "overlapping a positive moment) and recall (found: positive moments overlapped by a highlight) are what "
            "the selector publishes from each fold's out-of-fold scores at the budget; all = AUCs averaged over "
            "folds, the rest pooled (counts summed over folds)."
        )
    )
    if not report["models"]["metamodel"]["mean"].get("highlights"):
        lines.append(
            f"note: the selector published no highlight: it needs {MIN_HISTORY} segments of a stream before "
            "its first pick and then spaces them out, so streams of a few minutes give none (label longer "
            "stretches, or raise the budget)"
        )
    lines += [f"verdict: {line}" for line in report.get("verdict", [])]
    return "\n".join(lines)


def _cells(metrics: dict) -> str:
    found = f"{metrics.get('found', 0)}/{metrics.get('moments', 0)}"
    return (
        "".join(f" {_fmt(metrics.get(key))}" for key, _ in COLUMNS) + f" {metrics.get('highlights', 0):>4} {found:>9}"
    )


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


def plot_pr_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]], base_rate: float, path: Path, title: str) -> None:
    """Segment precision-recall curves, one per model, and the chance line.

    No operating point is marked: at a budget, precision and recall are of highlights and
    moments (the report's table), not of segments, so they do not belong on these axes.
    """
    from sklearn.metrics import precision_recall_curve

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    for name, (labels, scores) in curves.items():
        known = scores[~np.isnan(scores)]  # a baseline's missing values rank lowest, as in the report
        if not len(known):
            continue
        precision, recall, _ = precision_recall_curve(labels, np.where(np.isnan(scores), known.min() - 1.0, scores))
        ax.plot(recall, precision, label=name)
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
