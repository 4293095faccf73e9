"""The training CSV: read it, write it, and build it from an analysed VOD plus labels.

Format (docs/training.md): one row per 10 s segment, header first:
    stream,seq,start,label,<feature>,<feature>,...
`stream` groups rows for cross-validation (no stream is ever split between training and test),
`seq` (or `start`, seconds) orders a stream's segments, `label` is 0 or 1, and every other
column is a feature of the schema (`metamodel/schema.py`: the raw features, their stream-relative
twins `rank:<feature>`, plus any `audio_tag:<class>` and `rank:audio_tag:<class>`).
An empty cell is a missing value (a group that was off); training imputes it at the mean.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metamodel.ranks import base_of
from metamodel.schema import FEATURES, group_of

ID_COLUMNS = ("stream", "seq", "start", "label")


class DatasetError(ValueError):
    """Raised when a training CSV, an analysis file or a labels file cannot be used; says where."""


@dataclass(frozen=True)
class TrainingData:
    streams: np.ndarray  # str, one per row
    order: np.ndarray  # float: seq or start, orders a stream's rows
    labels: np.ndarray  # int 0/1
    matrix: np.ndarray  # float, NaN where a value is missing
    features: list[str]
    seq: np.ndarray  # float: the `seq` cell, NaN where the row has none (then `start` says where it is)
    start: np.ndarray  # float: the `start` cell in seconds, NaN where the row has none

    def __len__(self) -> int:
        return len(self.labels)

    def columns(self, names: Sequence[str]) -> np.ndarray:
        """The matrix restricted to `names`, in that order."""
        index = [self.features.index(name) for name in names]
        return self.matrix[:, index]


def feature_columns(header: Iterable[str]) -> list[str]:
    """The header's feature columns in schema order, then the audio tags (raw, then ranked);
    unknown columns are an error."""
    extra = [c for c in header if c not in ID_COLUMNS]
    for name in extra:
        try:
            group_of(name)
        except KeyError:
            raise DatasetError(f"column {name!r} is not a feature of the schema (see metamodel/schema.py)") from None
    tags = sorted(c for c in extra if c.startswith("audio_tag:"))
    ranked_tags = sorted(c for c in extra if c not in tags and base_of(c).startswith("audio_tag:"))
    return [f for f in FEATURES if f in extra] + tags + ranked_tags


def read_training_csv(path: str | Path) -> TrainingData:
    """Load a training CSV, refusing bad labels, non-numbers and missing id columns by line."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for column in ("stream", "label"):
            if column not in header:
                raise DatasetError(f"{path}: missing column {column!r} (header: {','.join(header)})")
        if "seq" not in header and "start" not in header:
            raise DatasetError(f"{path}: needs a 'seq' or 'start' column to order each stream's segments")
        features = feature_columns(header)
        if not features:
            raise DatasetError(f"{path}: no feature columns")
        rows = [_parse_row(row, features, path, line) for line, row in enumerate(reader, start=2)]
    if not rows:
        raise DatasetError(f"{path}: no rows")
    seen: dict[tuple[str, float], int] = {}
    for line, row in enumerate(rows, start=2):
        first = seen.setdefault((row[0], row[1]), line)
        if first != line:  # the selector and the moments need each segment of a stream once
            raise DatasetError(
                f"{path}:{line}: stream {row[0]!r} already has this segment (line {first}); "
                "was the same VOD appended twice? give each VOD its own --stream name"
            )
    streams, order, labels, values, seq, start = zip(*rows, strict=True)
    return TrainingData(
        np.array(streams, dtype=object),
        np.array(order, dtype=float),
        np.array(labels, dtype=int),
        np.array(values, dtype=float).reshape(len(rows), len(features)),
        features,
        np.array(seq, dtype=float),
        np.array(start, dtype=float),
    )


def _parse_row(row: Mapping[str, str], features: list[str], path: Path, line: int):
    stream = (row.get("stream") or "").strip()
    if not stream:
        raise DatasetError(f"{path}:{line}: empty stream")
    label = (row.get("label") or "").strip()
    if label not in ("0", "1"):
        raise DatasetError(f"{path}:{line}: label must be 0 or 1, got {label!r}")
    seq, start = _cell(row.get("seq"), "seq", path, line), _cell(row.get("start"), "start", path, line)
    if seq is None and start is None:
        raise DatasetError(f"{path}:{line}: needs a seq or start value")
    if seq is not None and seq != int(seq):
        raise DatasetError(f"{path}:{line}: seq must be a whole number (a segment's number), got {row['seq']!r}")
    order = seq if seq is not None else start
    return stream, order, int(label), [_cell(row.get(f), f, path, line) for f in features], seq, start


def _cell(raw: str | None, column: str, path: Path, line: int) -> float | None:
    text = (raw or "").strip()
    if not text:
        return None  # np.array(..., dtype=float) turns None into NaN
    try:
        value = float(text)
    except ValueError:
        raise DatasetError(f"{path}:{line}: {column} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise DatasetError(f"{path}:{line}: {column} must be finite, got {text!r}")
    return value


def write_training_csv(path: str | Path, rows: Sequence[Mapping[str, object]], append: bool = False) -> int:
    """Write rows (dicts with the id columns and features) as a training CSV; return the row count.

    With `append`, rows go after an existing file's rows; if either side has feature columns the
    other lacks, the file is rewritten with all of them (cells the rows have no value for stay
    empty: missing, imputed at training).
    """
    path = Path(path)
    existing: list[dict[str, str]] = []
    if append and path.is_file() and path.stat().st_size:
        with path.open(newline="", encoding="utf-8") as handle:
            existing = list(csv.DictReader(handle))
    names = {key for row in [*existing, *rows] for key in row if key not in ID_COLUMNS}
    header = list(ID_COLUMNS) + feature_columns(names)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header, restval="", extrasaction="raise")
        writer.writeheader()
        writer.writerows(existing)
        for row in rows:
            writer.writerow({k: _format(v) for k, v in row.items()})
    os.replace(tmp, path)
    return len(rows)


def _format(value: object) -> object:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return value


# --- building a dataset from `python -m server.analyze --json` and a labels file --------------

TIME_RE = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")


def parse_time(text: str) -> float:
    """Seconds from `75`, `75.5`, `1:15` or `0:01:15`."""
    text = text.strip()
    match = TIME_RE.match(text)
    if match:
        hours, minutes, seconds = match.groups()
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use seconds or h:mm:ss)") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"not a time: {text!r}")
    return value


def read_labels(path: str | Path) -> list[tuple[float, float | None]]:
    """(start, end) ranges of a labels CSV; `end` None for a single moment ("time" column)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        if "start" not in header and "time" not in header:
            raise DatasetError(f"{path}: needs a 'start,end' (clip ranges) or a 'time' (moments) header")
        ranges = []
        for line, row in enumerate(reader, start=2):
            try:
                ranges.append(_label_range(row))
            except ValueError as exc:
                raise DatasetError(f"{path}:{line}: {exc}") from None
    return ranges


def _label_range(row: Mapping[str, str]) -> tuple[float, float | None]:
    start = parse_time(row.get("start") or row.get("time") or "")
    end_text = (row.get("end") or "").strip()
    if not end_text:
        return start, None
    end = parse_time(end_text)
    if end <= start:
        raise ValueError(f"end {end_text} is not after start")
    return start, end


def read_analysis(path: str | Path) -> list[dict]:
    """The segment lines of `python -m server.analyze --json` output (the highlights line is skipped)."""
    return read_analysis_run(path)[0]


def read_analysis_run(path: str | Path) -> tuple[list[dict], list[dict] | None]:
    """(segments, highlights) of `python -m server.analyze --json` output; highlights is None when
    the file has no highlights line (e.g. cut short), which is not the same as "none published"."""
    path = Path(path)
    segments: list[dict] = []
    highlights: list[dict] | None = None
    with path.open(encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                doc = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{line}: not JSON ({exc.msg})") from None
            if not isinstance(doc, dict):
                raise DatasetError(f"{path}:{line}: expected a JSON object")
            if "highlights" in doc and "features" not in doc:
                highlights = _highlights(doc["highlights"], path, line)
                continue
            if not {"start", "end", "features"} <= set(doc):
                raise DatasetError(f"{path}:{line}: expected a segment with start, end and features")
            segments.append(doc)
    if not segments:
        raise DatasetError(f"{path}: no segments (is it `python -m server.analyze --json` output?)")
    return segments, highlights


def _highlights(raw: object, path: Path, line: int) -> list[dict]:
    if not isinstance(raw, list) or not all(isinstance(h, dict) and {"start", "end"} <= set(h) for h in raw):
        raise DatasetError(f"{path}:{line}: highlights must be a list of objects with start and end")
    return raw


def is_positive(start: float, end: float, ranges: Iterable[tuple[float, float | None]]) -> bool:
    """A segment is a highlight if a labelled moment falls in it, or a labelled clip covers at
    least half of it (or lies wholly inside it): a clip's edges rarely match 10 s boundaries."""
    for lo, hi in ranges:
        if hi is None:
            if start <= lo < end:
                return True
            continue
        overlap = min(end, hi) - max(start, lo)
        if overlap > 0 and (overlap >= 0.5 * (end - start) or (start <= lo and hi <= end)):
            return True
    return False


def join_labels(
    segments: Sequence[Mapping], ranges: Sequence[tuple[float, float | None]], stream: str
) -> Iterator[dict]:
    """Training rows for one analysed stream: every segment, label 1 where the labels say so, else 0.

    An unlabelled segment counts as "not a highlight": whoever labels a VOD marks all its highlights.
    """
    for seq, segment in enumerate(segments):
        start, end = float(segment["start"]), float(segment["end"])
        row: dict[str, object] = {
            "stream": stream,
            "seq": segment.get("seq", seq),
            "start": start,
            "label": int(is_positive(start, end, ranges)),
        }
        for name, value in segment["features"].items():
            try:
                group_of(name)
            except KeyError:
                continue  # a feature this schema does not know (newer server): not trainable here
            row[name] = value
        yield row
