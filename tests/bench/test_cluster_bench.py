"""`python -m bench.streams --workers K`: the whole-box benchmark with the server in cluster mode
(a scheduler and K stream workers as processes on loopback) runs for real at its smallest size."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(400)
@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_one_stream_on_one_cluster_worker_is_measured_with_the_workers_cpu(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "bench.streams", "--streams", "1", "--workers", "1", "--minutes", "0.5",
        "--warmup", "0", "--ladder", "small", "--no-tags", "--cache-dir", str(tmp_path / "renditions"), "--json",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=380)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "starting a scheduler and 1 worker(s) of 1 stream slot(s)" in done.stderr
    result = json.loads(done.stdout)
    assert "--workers 1" in result["command"]
    (run,) = result["runs"]
    assert run["errors"] == [], run
    (whole,) = run["windows"]
    assert whole["segments"] > 0
    # The stream is cut and scored on the worker: its ffmpeg and scoring are counted, so a
    # segment costs a good part of what decoding it does (the server alone costs almost nothing).
    assert whole["ratio_to_decode"] > 0.2, whole
    assert whole["peak_rss_mb"] > 300, "the server, the scheduler and the worker (torch) together"
