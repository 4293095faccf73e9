"""What the quality report runs on: a manifest of labelled streams, and turning each into a StreamRun.

Manifest (CSV with a header, or JSON: a list of objects or {"streams": [...]}), one stream each:
    name,labels,video,chat,chat_offset,analysis
`name` and `labels` (a labels CSV, docs/training.md) are required, plus either `analysis` (saved
`python -m server.analyze VIDEO --json` output: nothing is recomputed) or `video` (analysed here,
with `chat` and `chat_offset` as `server.analyze` takes them). Relative paths are relative to the
manifest's folder. Every file is checked, and every labels file read, before anything is analysed:
a typo in the last row must not cost an hour of analysis first.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from metamodel.dataset import DatasetError, read_analysis_run, read_labels
from metamodel.quality import StreamRun

COLUMNS = ("name", "labels", "video", "chat", "chat_offset", "analysis")


@dataclass(frozen=True)
class StreamSource:
    name: str
    labels: Path
    analysis: Path | None = None  # precomputed `server.analyze --json` output
    video: Path | None = None  # or a recording to analyse
    chat: Path | None = None
    chat_offset: float | None = None


def read_manifest(path: str | Path) -> list[StreamSource]:
    """The streams of a CSV or JSON manifest; a bad row is refused with its place in the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror}") from exc
    if path.suffix.lower() == ".jsonl":
        raise DatasetError(
            f"{path} looks like saved server.analyze output, not a manifest: pass it as "
            "--analysis NAME=FILE.jsonl (with --labels NAME=FILE), or list it in a manifest's analysis column"
        )
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}: not JSON ({exc.msg})") from None
        rows = doc.get("streams") if isinstance(doc, dict) else doc
        if not isinstance(rows, list):
            raise DatasetError(f'{path}: expected a list of streams or {{"streams": [...]}}')
        places = [f"{path}: stream {i + 1}" for i in range(len(rows))]
    else:
        reader = csv.DictReader(text.splitlines())
        unknown = [c for c in reader.fieldnames or [] if c not in COLUMNS]
        if unknown:  # said once for the header, not once per row
            shown = ", ".join(repr(c[:40]) for c in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise DatasetError(f"{path}:1: unknown column(s) {shown} (a manifest's columns: {', '.join(COLUMNS)})")
        rows = list(reader)
        places = [f"{path}:{line}" for line in range(2, len(rows) + 2)]
    sources = [_source(row, path.parent, place) for row, place in zip(rows, places, strict=True)]
    if not sources:
        raise DatasetError(f"{path}: no streams")
    return sources


def _source(row: object, folder: Path, place: str) -> StreamSource:
    if not isinstance(row, Mapping):
        raise DatasetError(f"{place}: expected an object with {', '.join(COLUMNS)}")
    unknown = sorted(str(k) for k in row if k not in COLUMNS)
    if unknown:
        raise DatasetError(f"{place}: unknown column(s) {', '.join(unknown)} (known: {', '.join(COLUMNS)})")
    cells = {k: str(v).strip() for k, v in row.items() if v is not None and str(v).strip()}
    for column in ("name", "labels"):
        if column not in cells:
            raise DatasetError(f"{place}: missing {column}")
    if "analysis" in cells and "video" in cells:
        raise DatasetError(f"{place}: give analysis (saved server.analyze --json output) or video, not both")
    if "analysis" not in cells and "video" not in cells and "chat" not in cells:
        raise DatasetError(
            f"{place}: needs a video and/or a chat log (analysed here) or an analysis (saved "
            "server.analyze --json output)"
        )
    offset = None
    if "chat_offset" in cells:
        try:
            offset = float(cells["chat_offset"])
        except ValueError:
            raise DatasetError(
                f"{place}: chat_offset must be a number (epoch seconds), got {cells['chat_offset']!r}"
            ) from None

    def path(column: str) -> Path | None:
        return folder / cells[column] if column in cells else None

    return StreamSource(cells["name"], folder / cells["labels"], path("analysis"), path("video"), path("chat"), offset)


def named_paths(pairs: Sequence[str], option: str) -> dict[str, Path]:
    """{name: path} from command-line `NAME=FILE` values."""
    result = {}
    for pair in pairs:
        name, sep, file = pair.partition("=")
        if not sep or not name.strip() or not file.strip():
            raise DatasetError(f"{option} takes NAME=FILE, got {pair!r}")
        result[name.strip()] = Path(file.strip())
    return result


def combine(
    manifest: Sequence[StreamSource], analyses: Mapping[str, Path], labels: Mapping[str, Path]
) -> list[StreamSource]:
    """The manifest's streams, with `--analysis NAME=FILE` replacing a stream's video (no re-analysis)
    and `--labels NAME=FILE` its labels; a name the manifest lacks becomes a stream of its own."""
    by_name: dict[str, StreamSource] = {}
    for source in manifest:
        if source.name in by_name:
            raise DatasetError(f"stream {source.name!r} is listed twice")
        by_name[source.name] = source
    for name in [*analyses, *(n for n in labels if n not in analyses)]:
        old = by_name.get(name)
        label_file = labels.get(name) or (old.labels if old else None)
        analysis = analyses.get(name) or (old.analysis if old else None)
        if label_file is None:
            raise DatasetError(f"stream {name!r}: no labels (add --labels {name}=FILE)")
        if analysis is None and (old is None or (old.video is None and old.chat is None)):
            raise DatasetError(f"stream {name!r}: no analysis (add --analysis {name}=FILE.jsonl)")
        if old is not None and analysis is not None:
            by_name[name] = StreamSource(name, label_file, analysis)
        elif old is not None:
            by_name[name] = StreamSource(name, label_file, None, old.video, old.chat, old.chat_offset)
        else:
            by_name[name] = StreamSource(name, label_file, analysis)
    if not by_name:
        raise DatasetError("no streams: give a manifest, or --analysis NAME=FILE.jsonl with --labels NAME=FILE")
    return list(by_name.values())


def check_files(sources: Sequence[StreamSource]) -> dict[str, list]:
    """Every file exists and every labels file parses, before any analysis; returns the labels."""
    for source in sources:
        for kind in ("labels", "analysis", "video", "chat"):
            file = getattr(source, kind)
            if file is not None and not file.is_file():
                raise DatasetError(f"stream {source.name!r}: {kind} file {file} does not exist")
    labels = {}
    for source in sources:
        try:
            labels[source.name] = read_labels(source.labels)
        except OSError as exc:
            raise DatasetError(f"stream {source.name!r}: cannot read {source.labels}: {exc.strerror}") from exc
    return labels


Analyze = Callable[..., dict]


def load_runs(
    sources: Sequence[StreamSource], analyze: Analyze | None, model_path: Path | None = None, progress: bool = True
) -> list[StreamRun]:
    """A StreamRun per source: saved analyses are read, videos analysed with `analyze` (the
    signature of `server.analyze.analyze`), in order, with a line per stream on stderr."""
    labels = check_files(sources)
    runs = []
    for k, source in enumerate(sources, start=1):
        if source.analysis is not None:
            if progress:
                print(f"[{k}/{len(sources)}] {source.name}: reading {source.analysis}", file=sys.stderr)
            segments, highlights = read_analysis_run(source.analysis)
            if highlights is None:
                raise DatasetError(f"{source.analysis}: no highlights line at the end (an analysis cut short?)")
        else:
            if analyze is None:
                raise DatasetError(f"stream {source.name!r}: a video to analyse but no analyser")
            if progress:
                chat = f" with chat {source.chat}" if source.chat else " without chat"
                what = source.video or "chat alone"
                print(f"[{k}/{len(sources)}] {source.name}: analysing {what}{chat}", file=sys.stderr)
            result = analyze(source.video, source.chat, source.chat_offset, model_path, progress=progress)
            segments, highlights = result["segments"], result["highlights"]
            if not segments:
                raise DatasetError(
                    f"stream {source.name!r}: {source.video or source.chat} is too short for one segment"
                )
        runs.append(StreamRun(source.name, segments, highlights, labels[source.name]))
    return runs
