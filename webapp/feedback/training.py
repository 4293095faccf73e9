"""Viewers' feedback as training data, and retraining the metamodel from it.

Labels per stored segment (a stream with any feedback; other streams are left out):
  1  the segment is in a highlight someone gave a thumbs up, or holds a "missed" moment
  0  the segment is in a highlight someone gave a thumbs down (a 1 from anyone wins)
  -  the segment is in a highlight nobody voted on: left out (the model thought it was a
     highlight and nobody said yes or no, so it is neither a known positive nor a known negative)
  0  every other segment: the viewer saw the stream and did not mark it

The stored features are the server's, stream-relative ranks (`rank:*`) included, so the export
trains like `python -m metamodel train` on labelled VODs (the rank columns by default). The new
model keeps the budget of the model it replaces (highlights per hour) unless one is asked for.

A retraining is a `TrainingRun`: `start_run` records it (one at a time), `run_training` does the
work and records the outcome, `run_in_background` does that on a thread so the staff page answers
at once however much feedback there is.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from metamodel import MetamodelError, load_metamodel
from metamodel.dataset import DatasetError, is_positive, write_training_csv
from metamodel.schema import group_of
from webapp.feedback.models import MissedMoment, TrainingRun, Vote
from webapp.streams.models import Highlight, Segment, Stream

log = logging.getLogger(__name__)

# Far longer than any retraining takes: a run still "running" after this died with its process.
STALE_AFTER = timedelta(hours=1)


class RetrainRefused(Exception):
    """A retraining that cannot start; the message says why, for the page or the command line."""


def labelled_streams() -> list[Stream]:
    """Streams with at least one vote or missed moment."""
    voted = Vote.objects.values_list("highlight__stream_id", flat=True)
    missed = MissedMoment.objects.values_list("stream_id", flat=True)
    return list(Stream.objects.filter(pk__in=set(voted) | set(missed)).order_by("pk"))


def stream_rows(stream: Stream) -> Iterator[dict]:
    """Training rows (metamodel CSV format) for one stream's stored segments."""
    up: list[tuple[float, float | None]] = []
    down: list[tuple[float, float | None]] = []
    unvoted: list[tuple[float, float | None]] = []
    votes: dict[int, set[int]] = defaultdict(set)
    for highlight_id, value in Vote.objects.filter(highlight__stream=stream).values_list("highlight_id", "value"):
        votes[highlight_id].add(value)
    for h in Highlight.objects.filter(stream=stream):
        span = (h.start_offset_s, h.end_offset_s)
        (up if Vote.UP in votes[h.id] else down if votes[h.id] else unvoted).append(span)
    moments = [(m, None) for m in MissedMoment.objects.filter(stream=stream).values_list("offset_s", flat=True)]
    for segment in Segment.objects.filter(stream=stream).order_by("seq"):
        start, end = segment.offset_s, segment.offset_s + segment.duration_s
        if is_positive(start, end, up) or is_positive(start, end, moments):
            label = 1
        elif is_positive(start, end, down):
            label = 0
        elif is_positive(start, end, unvoted):
            continue
        else:
            label = 0
        yield {
            "stream": f"{stream.pk}-{stream.source}"[:80],
            "seq": segment.seq,
            "start": start,
            "label": label,
            **_schema_features(segment.features),
        }


def _schema_features(features: object) -> dict:
    if not isinstance(features, dict):
        return {}
    kept = {}
    for name, value in features.items():
        try:
            group_of(name)
        except KeyError:
            continue
        kept[name] = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return kept


def export_training_data(out: Path) -> dict[str, int]:
    """Write the training CSV; return counts of streams, rows and positives."""
    rows = [row for stream in labelled_streams() for row in stream_rows(stream)]
    if not rows:
        raise ValueError("no feedback yet: nothing to export (vote on highlights or mark missed moments first)")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_training_csv(out, rows)
    return {
        "streams": len({r["stream"] for r in rows}),
        "rows": len(rows),
        "positives": sum(int(r["label"]) for r in rows),
    }


def serving_per_hour(model_path: Path) -> float:
    """The budget of the model the server serves: the one at `model_path`, else the shipped default
    (which the server also falls back to when that file is missing or refused)."""
    try:
        return load_metamodel(model_path if model_path.is_file() else None).per_hour
    except MetamodelError:
        return load_metamodel().per_hour


def retrain(data: Path, model_path: Path, per_hour: float | None = None) -> tuple[str, float]:
    """Train on an exported CSV at a budget (default: the serving model's) and write the model where
    the server watches; return the report and the budget."""
    from metamodel.artifact import save_metamodel
    from metamodel.dataset import read_training_csv
    from metamodel.report import format_report
    from metamodel.train import Objective, train

    training = read_training_csv(data)
    objective = Objective(per_hour if per_hour is not None else serving_per_hour(model_path))
    model, report = train(training, objective, source=data)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    save_metamodel(model, model_path)
    text = format_report(report, f"cross-validation on viewers' feedback ({len(training)} segments)")
    return text, model.per_hour


def start_run(model_path: Path | None, user=None) -> TrainingRun:
    """Record a new run, or refuse: no METAMODEL_PATH, or another run still going."""
    if model_path is None:
        raise RetrainRefused("METAMODEL_PATH is not set: the server would not see a new model.")
    with transaction.atomic():  # check and create as one (SQLite IMMEDIATE: one writer at a time)
        TrainingRun.objects.filter(state=TrainingRun.RUNNING, started__lt=timezone.now() - STALE_AFTER).update(
            state=TrainingRun.FAILED, finished=timezone.now(), error="did not finish (the webapp stopped while it ran)"
        )
        busy = TrainingRun.objects.filter(state=TrainingRun.RUNNING).first()
        if busy is not None:
            raise RetrainRefused(f"a retraining is already running (started {busy.started:%Y-%m-%d %H:%M:%S} UTC)")
        return TrainingRun.objects.create(model_path=str(model_path), started_by=user)


def run_training(run: TrainingRun, per_hour: float | None = None) -> TrainingRun:
    """Export the feedback, train at `per_hour` (default: the serving model's budget), write the
    model where the server looks; record how it went."""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "feedback.csv"
            run.rows = export_training_data(data)["rows"]
            run.report, run.per_hour = retrain(data, Path(run.model_path), per_hour)
        run.state = TrainingRun.DONE
    except (ValueError, DatasetError, MetamodelError, OSError) as exc:
        run.state, run.error = TrainingRun.FAILED, str(exc)
    except Exception as exc:  # recorded, or the run would show "running" for an hour
        log.exception("training run %s failed", run.pk)
        run.state, run.error = TrainingRun.FAILED, f"unexpected error: {type(exc).__name__}: {exc}"
    run.finished = timezone.now()
    run.save()
    log.info("training run %s %s in %.1f s", run.pk, run.state, (run.finished - run.started).total_seconds())
    return run


def run_in_background(run: TrainingRun) -> threading.Thread:
    def work() -> None:
        try:
            run_training(run)
        finally:
            connection.close()  # this thread's own database connection

    thread = threading.Thread(target=work, name=f"retrain-{run.pk}", daemon=True)
    thread.start()
    return thread
