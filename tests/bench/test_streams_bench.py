"""`python -m bench.streams`: the whole-box benchmark runs for real at its smallest size, and its
figures mean what docs/benchmarks.md says."""

from __future__ import annotations

import itertools
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.callback import SegmentReport
from bench.streams import Run, find_max, stagger
from bench.streams_summary import REACTION_WAIT_S, TABLE_HEADER, Mark, percentile, table_row, window, windows

ROOT = Path(__file__).resolve().parents[2]


def report(start: float, arrived: float, tagged: bool = False) -> SegmentReport:
    features = {"audio_tag:Music": 0.5 if tagged else None, "chat_messages": 3.0 if tagged else 0.0}
    return SegmentReport(1, 0, start, arrived, features)


def test_lag_does_not_count_the_wait_for_the_chat_reaction_window() -> None:
    start = 1_000.0
    # Reported 1.5 s after the reaction window (24 s after the segment's start) closed.
    found = window("all", Mark(0, 0), Mark(2_000, 5), [report(start, start + REACTION_WAIT_S + 1.5)], [], 1, 0.5)
    assert REACTION_WAIT_S == 24.0
    assert found.lag_p50_s == found.lag_max_s == 1.5


def test_a_window_counts_the_reports_that_arrived_in_it_and_divides_its_cpu_among_them() -> None:
    reports = [report(0, 100, tagged=True), report(10, 110), report(20, 120), report(30, 131)]
    rss = [(99.0, 800.0), (105.0, 900.0), (125.0, 850.0), (140.0, 2000.0)]
    found = window("all", Mark(100, 10.0), Mark(130, 13.0), reports, rss, 1, 0.25)
    assert found.segments == 2  # arrived in (100, 130]
    assert found.tagged_segments == found.segments_with_chat == 0
    assert found.cpu_s_per_segment == 1.5 and found.ratio_to_decode == 6.0
    assert found.segments_per_10s == pytest.approx(0.67, abs=0.01) and found.needed_per_10s == 1
    assert found.peak_rss_mb == 900  # samples inside [100, 130] only
    assert found.minutes == 0.5


def test_a_window_gives_the_lag_of_tagged_and_untagged_segments_apart() -> None:
    start = 1_000.0
    reports = [report(start, start + REACTION_WAIT_S + lag, tagged=lag > 3) for lag in (0.5, 1.0, 4.0, 6.0)]
    found = window("all", Mark(0, 0), Mark(2_000, 5), reports, [], 1, 0.5)
    assert (found.lag_p95_tagged_s, found.lag_p95_untagged_s) == (6.0, 1.0)


def test_a_window_without_reports_has_no_lag_or_cost_per_segment() -> None:
    found = window("all", Mark(0, 0), Mark(60, 3), [], [], 2, 0.3)
    assert found.segments == 0 and found.cpu_s_per_segment is None and found.lag_p95_s is None


def test_a_long_run_reports_its_first_and_last_ten_minutes_apart() -> None:
    marks = [Mark(60.0 * m, 2.0 * m) for m in range(31)]
    assert [w.name for w in windows(marks[:20], [], [], 1, 0.3)] == ["all"]
    found = windows(marks, [], [], 1, 0.3)
    assert [(w.name, w.minutes) for w in found] == [("all", 30), ("first 10 min", 10), ("last 10 min", 10)]


def test_a_table_row_fills_every_column_of_the_markdown_table() -> None:
    found = window("all", Mark(100, 10.0), Mark(130, 13.0), [report(0, 125, tagged=True)], [(110.0, 900.0)], 1, 0.5)
    row = table_row(1, "candidates", found)
    assert row.count("|") == TABLE_HEADER.splitlines()[0].count("|")
    assert (
        "| 1 | all, 0.5 min | candidates (1/1 tagged) | 3.000 | 6.00x | 0.33 (1) | 101.00 / 101.00 / 101.00 | 900 |"
        == row
    )
    empty = table_row(2, "off", window("all", Mark(0, 0), Mark(60, 1), [], [], 2, 0.5))
    assert "| off | n/a | n/a | 0.00 (2) | n/a / n/a / n/a | n/a |" in empty


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 95) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([float(v) for v in range(1, 21)], 95) == 19.0
    assert percentile([float(v) for v in range(1, 21)], 50) == 10.0


@pytest.mark.parametrize(
    ("capacity", "start", "expected_max", "expected_tried"),
    [
        pytest.param(5, 1, 5, [1, 2, 4, 5, 6, 8], id="doubles-then-bisects"),
        pytest.param(0, 1, 0, [1], id="not-even-one"),
        pytest.param(0, 4, 0, [1, 2, 4], id="bisects-down-from-the-start"),
        pytest.param(100, 1, 8, [1, 2, 4, 8], id="stops-at-the-limit"),
    ],
)
def test_find_max_reports_the_largest_n_that_held(capacity, start, expected_max, expected_tried) -> None:
    runs, largest = find_max(lambda n: Run(n, [], [], held=n <= capacity), start, limit=8)
    assert largest == expected_max
    assert [run.streams for run in runs] == expected_tried


def test_channels_join_the_video_loop_and_the_chat_log_at_points_spread_over_both() -> None:
    names = [f"c{i}" for i in range(24)]
    shifts, head_starts = stagger(names, loop_segments=60, log_seconds=460.0)
    assert shifts["c0"] == 0 and head_starts["c0"] == 0.0
    assert all(0 <= shifts[n] < 60 and 0 <= head_starts[n] < 460 for n in names)
    # No two channels closer than a segment in the loop: none shows the same moment at once.
    assert len(set(shifts.values())) == len(names)
    points = sorted(head_starts.values())
    assert min(b - a for a, b in itertools.pairwise(points)) > 5


@pytest.mark.timeout(300)
@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_one_stream_with_chat_and_audio_tags_is_measured_end_to_end(tmp_path: Path) -> None:
    # The smallest real run: the server as a process, one 360p/160p channel with chat, every
    # segment tagged by a random Cnn14, half a minute of measurement after the first report.
    command = [
        sys.executable, "-m", "bench.streams", "--streams", "1", "--minutes", "0.5", "--warmup", "0",
        "--ladder", "small", "--tag-all", "--cache-dir", str(tmp_path / "renditions"), "--json",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "N=1: measuring" in done.stderr  # progress goes to stderr, the JSON alone to stdout
    result = json.loads(done.stdout)
    assert result["decode_baseline"]["rendition"] == "360p" and result["decode_baseline"]["cpu_s_per_10s"] > 0
    assert "CHAT_WINDOW_S" in result["lag_definition"]
    assert result["channels"] == "staggered"
    (run,) = result["runs"]
    assert run["streams"] == 1 and run["errors"] == []
    assert not any(note.startswith(("chat off", "audio tagging off")) for note in run["degraded"]), run["degraded"]
    (whole,) = run["windows"]
    assert whole["segments"] > 0
    assert whole["tagged_segments"] == whole["segments"]
    assert whole["segments_with_chat"] > 0  # the replayed #xqcow chat reached the jobs
    assert whole["cpu_s_per_segment"] > 0 and whole["ratio_to_decode"] > 0
    assert 0 < whole["segments_per_10s"] <= 2 and whole["needed_per_10s"] == 1
    for lag in (whole["lag_p50_s"], whole["lag_p95_s"], whole["lag_max_s"]):
        assert math.isfinite(lag) and -5 < lag < 60
    assert whole["lag_p50_s"] <= whole["lag_p95_s"] <= whole["lag_max_s"]
    assert whole["peak_rss_mb"] > 50
