"""`python -m metamodel {train,evaluate,dataset}`: train, measure and build data for the metamodel.

  train DATA.csv --out MODEL.json [--per-hour N] [--features rank|raw|all] [--plots DIR]
  evaluate MODEL.json DATA.csv [--per-hour N] [--plots DIR]
  dataset --analysis ANALYSIS.jsonl --labels LABELS.csv --stream NAME --out DATA.csv [--append]
  quality [MANIFEST] [--analysis NAME=FILE.jsonl] [--labels NAME=LABELS.csv] [--model MODEL.json] [--json]
See docs/training.md and docs/quality.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from metamodel.artifact import MetamodelError, load_metamodel, save_metamodel
from metamodel.dataset import (
    DatasetError,
    join_labels,
    read_analysis,
    read_labels,
    read_training_csv,
    write_training_csv,
)
from metamodel.selection import DEFAULT_PER_HOUR, validate_per_hour
from metamodel.train import FEATURE_SETS


def cmd_train(args: argparse.Namespace) -> int:
    from metamodel.report import format_report
    from metamodel.train import Objective, train

    data = read_training_csv(args.data)
    model, report = train(
        data,
        Objective(args.per_hour or DEFAULT_PER_HOUR),
        source=args.data,
        segment_seconds=args.segment_seconds,
        feature_set=args.features,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)  # `--out new/model.json` makes new/, not an errno
    save_metamodel(model, args.out)
    print(
        format_report(
            report, f"cross-validation on {args.data} ({len(data)} rows, {len(set(data.streams.tolist()))} streams)"
        )
    )
    plots = args.plots or args.out.parent
    _plots(model, data, report, "oof_scores", plots, args.out.stem, "out-of-fold")
    print(f"wrote {args.out} ({model.per_hour:g} highlights per hour) and plots in {plots}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from metamodel.evaluate import evaluate
    from metamodel.report import format_report

    model = load_metamodel(args.model)
    data = read_training_csv(args.data)
    report = evaluate(model, data, args.segment_seconds, args.per_hour)
    print(format_report(report, f"held-out evaluation of {args.model} on {args.data} (one line per stream)"))
    if args.plots:
        _plots(model, data, report, "scores", args.plots, args.model.stem + "-heldout", "held-out")
        print(f"plots in {args.plots}")
    return 0


def cmd_dataset(args: argparse.Namespace) -> int:
    rows = list(join_labels(read_analysis(args.analysis), read_labels(args.labels), args.stream))
    count = write_training_csv(args.out, rows, append=args.append)
    positives = sum(int(r["label"]) for r in rows)
    print(
        f"{'appended' if args.append else 'wrote'} {count} segments of {args.stream} to {args.out}: "
        f"{positives} labelled highlight"
    )
    return 0


def cmd_quality(args: argparse.Namespace) -> int:
    from metamodel.quality import format_quality_report, product_spacing, quality_report
    from metamodel.quality_inputs import combine, load_runs, named_paths, read_manifest

    analyses, labels = named_paths(args.analysis, "--analysis"), named_paths(args.labels, "--labels")
    sources = combine(read_manifest(args.manifest) if args.manifest else [], analyses, labels)
    if args.model and all(s.analysis is not None for s in sources):
        print(
            "note: --model is ignored: every stream comes from a saved analysis, scored when it was made",
            file=sys.stderr,
        )
    analyze: Callable[..., dict] | None = None
    server_errors: tuple[type[Exception], ...] = ()
    if any(s.analysis is None for s in sources):
        # The one place metamodel/ needs server/: analysing a recording or chat log is the server's pipeline.
        from server.analyze import analyze
        from server.chat.logs import ChatLogError
        from server.media import MediaError

        server_errors = (MediaError, ChatLogError)
        load_metamodel(args.model)  # a bad --model is refused before the first video, not after it
    try:
        runs = load_runs(sources, analyze, args.model)  # progress goes to stderr: --json output stays clean
    except server_errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report = quality_report(runs, product_spacing())
    print(json.dumps(report, indent=2) if args.json else format_quality_report(report))
    return 0


def _plots(model, data, report, key: str, folder: Path, stem: str, what: str) -> None:
    from metamodel.report import plot_importance, plot_pr_curves

    folder.mkdir(parents=True, exist_ok=True)
    plot_importance(model, folder / f"{stem}-importance.png")
    curves = {name: (data.labels, result[key]) for name, result in report["models"].items()}
    plot_pr_curves(curves, float(data.labels.mean()), folder / f"{stem}-pr.png", f"Precision-recall ({what})")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m metamodel", description="Train and measure the highlight metamodel.")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="cross-validate by stream, fit, write the JSON artifact and plots")
    t.add_argument("data", type=Path, help="training CSV (docs/training.md)")
    t.add_argument("--out", type=Path, required=True, help="where to write the model JSON")
    t.add_argument(
        "--per-hour",
        type=float,
        help=f"the budget: highlights per hour the model is measured at and ships with (default {DEFAULT_PER_HOUR:g})",
    )
    t.add_argument(
        "--features",
        choices=FEATURE_SETS,
        default="rank",
        help="rank: the stream-relative rank:* columns (default); raw; all",
    )
    t.add_argument("--plots", type=Path, help="folder for the PNGs (default: next to --out)")
    t.set_defaults(run=cmd_train)
    e = sub.add_parser("evaluate", help="the same report on a held-out CSV")
    e.add_argument("model", type=Path)
    e.add_argument("data", type=Path)
    e.add_argument("--plots", type=Path, help="folder for the PNGs (default: none)")
    e.add_argument("--per-hour", type=float, help="the budget to measure at (default: the model's)")
    e.set_defaults(run=cmd_evaluate)
    d = sub.add_parser("dataset", help="join `python -m server.analyze --json` output with labels")
    d.add_argument("--analysis", type=Path, required=True, help="output of python -m server.analyze VIDEO --json")
    d.add_argument("--labels", type=Path, required=True, help="CSV with start,end (clip ranges) or time (moments)")
    d.add_argument("--stream", required=True, help="a name for this VOD (cross-validation groups by it)")
    d.add_argument("--out", type=Path, required=True)
    d.add_argument("--append", action="store_true", help="add to an existing training CSV")
    d.set_defaults(run=cmd_dataset)
    q = sub.add_parser(
        "quality",
        help="labelled streams: the model's highlights against single-signal baselines",
        description="Per stream and overall: segment ROC AUC, precision and recall of the published "
        "highlights, and the same for message count, message-rate ratio, loudness and "
        "motion at the same number of picks (docs/quality.md).",
    )
    q.add_argument(
        "manifest",
        type=Path,
        nargs="?",
        help="CSV or JSON listing streams: name,labels and analysis or video (+chat, chat_offset)",
    )
    q.add_argument(
        "--analysis",
        action="append",
        default=[],
        metavar="NAME=FILE.jsonl",
        help="saved `python -m server.analyze VIDEO --json` output for stream NAME (repeatable)",
    )
    q.add_argument(
        "--labels",
        action="append",
        default=[],
        metavar="NAME=LABELS.csv",
        help="labels CSV for stream NAME (repeatable; overrides the manifest's)",
    )
    q.add_argument(
        "--model", type=Path, help="metamodel JSON to analyse videos with (default: the shipped/configured one)"
    )
    q.add_argument("--json", action="store_true", help="the report as JSON instead of a table")
    q.set_defaults(run=cmd_quality)
    for sp in (t, e):
        sp.add_argument("--segment-seconds", type=float, default=10.0, help="segment length, for highlights per hour")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "per_hour", None) is not None:
        try:
            validate_per_hour(args.per_hour)
        except ValueError as exc:
            print(f"error: --per-hour: {exc}", file=sys.stderr)
            return 2
    try:
        return args.run(args)
    except (DatasetError, MetamodelError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
