"""The landscape original, trimmed: a stream copy when the trim starts on a keyframe (nothing is
decoded, the picture is the stored one), re-encoded when it does not (a copy would start early)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from server import media
from server.render import keyframes, render_clip


@pytest.fixture(scope="module")
def clip(demo_segments, tmp_path_factory) -> Path:
    """A stored highlight as the server writes it: 6 s of demo segments joined into an mp4 (keyframes every 2 s)."""
    out = tmp_path_factory.mktemp("clip") / "clip.mp4"
    media.export_clip(demo_segments[10:13], out)
    return out


def profile_and_duration(path: Path) -> tuple[str, float]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=profile:format=duration",
         "-of", "default=nw=1:nk=1", str(path)], capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    return out[0], float(out[1])


def test_the_clips_keyframes_are_read_from_its_packets(clip):
    assert [round(k, 1) for k in keyframes(clip)] == [0.0, 2.0, 4.0]


def test_a_trim_from_a_keyframe_is_a_stream_copy_of_the_stored_picture(clip, tmp_path):
    done = render_clip(clip, tmp_path / "t.mp4", "landscape", start=2.0, end=5.0)
    assert done.copied and done.plan is None and done.facecam is None
    profile, duration = profile_and_duration(done.out)
    assert profile == "Constrained Baseline", "the demo's own encoding, untouched"
    assert duration == pytest.approx(3.0, abs=0.1)


def test_a_trim_between_keyframes_is_re_encoded_to_start_exactly_there(clip, tmp_path):
    done = render_clip(clip, tmp_path / "t.mp4", "landscape", start=2.7, end=5.0)
    assert not done.copied
    profile, duration = profile_and_duration(done.out)
    assert profile == "High" and duration == pytest.approx(2.3, abs=0.1)
    first = media.decode_grey_frames(done.out, 0, 0.5)[0].astype(float)
    source = media.decode_grey_frames(clip, 2.7, 0.5)[0].astype(float)
    assert abs(first - source).mean() < 4.0, "it starts at 2.7 s, not at the keyframe before"


def test_the_command_line_says_how_it_trimmed(clip, tmp_path):
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "server.render", str(clip), "--layout", "landscape", "--start", "2", "--end", "4",
         "--out", str(tmp_path / "t.mp4")], capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "landscape original, 2.00 s (stream copy: the start is a keyframe)" in done.stdout
