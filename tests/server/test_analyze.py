"""`python -m server.analyze` on real recordings."""

import json
import subprocess
import sys

import pytest

from conftest import CHAT_LOG, ROOT

MEDIA = ROOT / "server" / "demo" / "media"


def analyze(*args):
    done = subprocess.run([sys.executable, "-m", "server.analyze", *map(str, args), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    return done


def segments_of(done):
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return lines[:-1], lines[-1]["highlights"]


@pytest.fixture(scope="module")
def gameplay():
    return segments_of(analyze(MEDIA / "seed-gameplay.mp4", "--chat", CHAT_LOG))


@pytest.fixture(scope="module")
def lobby():
    return segments_of(analyze(MEDIA / "seed-lobby.mp4"))


def mean(segments, feature):
    return sum(s["features"][feature] for s in segments) / len(segments)


def test_a_minute_of_video_is_six_scored_segments(gameplay):
    segments, _ = gameplay
    assert [(s["start"], s["end"]) for s in segments] == [(t, t + 10) for t in range(0, 60, 10)]
    assert all(0 <= s["score"] <= 1 for s in segments)


def test_gameplay_has_far_more_motion_than_a_lobby(gameplay, lobby):
    assert mean(gameplay[0], "motion_mean") > 5 * mean(lobby[0], "motion_mean")


def test_chat_from_the_log_is_counted_per_segment(gameplay, lobby):
    assert mean(gameplay[0], "chat_messages") > 20  # the real log has ~10 messages a second
    assert lobby[0][0]["features"]["chat_messages"] is None  # no log given: chat is missing, not zero


def test_a_file_that_is_not_media_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    done = analyze(bad)
    assert done.returncode == 1
    assert done.stderr.startswith("error:")


def test_a_missing_file_is_a_usage_error(tmp_path):
    done = analyze(tmp_path / "nope.mp4")
    assert done.returncode == 2 and "no such file" in done.stderr
