"""The ffmpeg boundary: one decode per segment gives what the two single-purpose decoders give."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from server import media
from server.features import SegmentFeaturizer
from server.features.motion import motion_features

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")

VIDEO = ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=4"]
ENCODE = [
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-g",
    "30",
    "-c:a",
    "aac",
]  # a keyframe a second, as live streams have
AUDIO = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=4"]


def make_ts(path: Path, *inputs: str) -> Path:
    """An MPEG-TS file like a live segment (H.264 + AAC), made from ffmpeg's test sources."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", *inputs, *ENCODE, "-f", "mpegts", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def segment(tmp_path_factory) -> Path:
    return make_ts(tmp_path_factory.mktemp("media") / "both.ts", *VIDEO, *AUDIO)


def same_motion(frames: np.ndarray, other: np.ndarray) -> None:
    # Alone, the video's frames are sampled from its own first timestamp; decoded beside the
    # audio, from the earlier of the two. The 10 fps sample may fall a frame apart, the motion not.
    assert frames.shape == other.shape
    mean, other_mean = (motion_features(f)["motion_mean"] for f in (frames, other))
    assert mean == pytest.approx(other_mean, rel=0.05)


def test_one_decode_gives_what_the_two_single_decoders_give(segment):
    samples, frames = media.decode_segment(segment)
    assert np.array_equal(samples, media.decode_audio(segment))
    same_motion(frames, media.decode_grey_frames(segment))
    assert len(samples) == pytest.approx(4 * media.AUDIO_RATE, rel=0.05)
    assert frames.shape == (4 * media.MOTION_FPS, media.MOTION_SIZE[1], media.MOTION_SIZE[0])


def test_a_window_of_the_segment_is_decoded_alike(segment):
    samples, frames = media.decode_segment(segment, start=1.0, duration=2.0)
    assert np.array_equal(samples, media.decode_audio(segment, 1.0, 2.0))
    same_motion(frames, media.decode_grey_frames(segment, 1.0, 2.0))
    assert len(frames) == 2 * media.MOTION_FPS


def test_a_segment_without_audio_has_no_audio_features_rather_than_silent_ones(tmp_path):
    video_only = make_ts(tmp_path / "video.ts", *VIDEO)
    samples, frames = media.decode_segment(video_only)
    assert samples is None and len(frames) == 4 * media.MOTION_FPS
    values = SegmentFeaturizer().featurize(video_only, chat=None)
    assert values["audio_peak"] is None and values["audio_loudness"] is None
    assert values["motion_mean"] > 0


def test_a_segment_without_video_has_no_motion_features(tmp_path):
    audio_only = make_ts(tmp_path / "audio.ts", *AUDIO)
    samples, frames = media.decode_segment(audio_only)
    assert frames is None and len(samples) > 0
    values = SegmentFeaturizer().featurize(audio_only, chat=None)
    assert all(values[name] is None for name in ("motion_mean", "motion_p95", "scene_cuts", "motion_ratio"))
    assert values["audio_peak"] > 0.1


def test_a_file_that_is_not_media_is_an_error_in_ffmpegs_words(tmp_path):
    junk = tmp_path / "junk.ts"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(media.MediaError, match="Invalid data|could not find|does not contain"):
        media.decode_segment(junk)


def test_a_thumbnail_asked_for_past_the_last_frame_falls_back_to_the_first(tmp_path):
    clip = Path(__file__).resolve().parents[2] / "server" / "demo" / "media" / "seed-lobby.mp4"
    short = tmp_path / "short.ts"
    media.run_ffmpeg(["-y", "-t", "1", "-i", str(clip), "-c", "copy", "-f", "mpegts", str(short)])
    out = tmp_path / "thumb.jpg"
    media.export_thumbnail(short, 5.0, out)  # half of a nominal 10 s segment that is 1 s long
    assert out.stat().st_size > 0


def test_a_file_without_video_gives_no_thumbnail_but_a_clear_error(tmp_path):
    clip = Path(__file__).resolve().parents[2] / "server" / "demo" / "media" / "seed-lobby.mp4"
    audio_only = tmp_path / "audio.ts"
    media.run_ffmpeg(["-y", "-i", str(clip), "-vn", "-c:a", "copy", "-f", "mpegts", str(audio_only)])
    with pytest.raises(media.MediaError):
        media.export_thumbnail(audio_only, 1.0, tmp_path / "thumb.jpg")
