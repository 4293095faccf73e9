"""Vertical and square clips from real Twitch clips: where the face cam is found, and what the
rendered file holds (size, codecs, duration, faststart, and that its top band is the face cam).

Encodes are a few seconds each (`--start/--end`): the machine's two cores are shared.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from server import media
from server.facecam import find_facecam
from server.layout import Rect
from server.render import content_duration, render_clip
from tests.shared_data import SHARED_DATA

VIDEO = SHARED_DATA / "video"
GAMEPLAY, LOBBY = VIDEO / "seed-gameplay.mp4", VIDEO / "seed-lobby.mp4"
ROOT = Path(__file__).resolve().parents[2]

needs_clips = pytest.mark.skipif(
    not (GAMEPLAY.is_file() and LOBBY.is_file()),
    reason=f"the team's real Twitch clips are not in {VIDEO} (../shared/data beside the repo)",
)

# Measured by eye on the clips (284x160): the gameplay clip's cam overlay; the lobby's cam panel
# is at x 138-273, y 44-117, right of a game panel of the same size.
GAMEPLAY_CAM = Rect(222, 52, 58, 36)


def _frame(path: Path, at: float, size: tuple[int, int], crop: Rect | None = None) -> np.ndarray:
    """One grey frame of `path` at `at` s (optionally a crop of it), scaled to `size`, as floats."""
    chain = (f"crop={crop.w}:{crop.h}:{crop.x}:{crop.y}," if crop else "") + f"scale={size[0]}:{size[1]}:flags=area"
    raw = media.run_ffmpeg(
        [
            "-ss",
            f"{at:.3f}",
            "-i",
            str(path),
            "-frames:v",
            "1",
            "-vf",
            chain,
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "pipe:1",
        ]
    )
    return np.frombuffer(raw, dtype=np.uint8).reshape(size[1], size[0]).astype(np.float32)


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def _streams(path: Path) -> dict[str, dict]:
    return {s["codec_type"]: s for s in media.probe(path)["streams"]}


@needs_clips
@pytest.mark.parametrize("start", [0.0, 20.0, 40.0])
def test_the_gameplay_clips_face_cam_is_found_on_the_right_as_one_rectangle(start):
    # The whole clip, and 10 s highlights from it (what the web app exports).
    cam = find_facecam(GAMEPLAY, start, None if start == 0 else 10.0)
    assert cam is not None
    # Inside the overlay (its left edge fades into the game and may be missed), most of it.
    assert GAMEPLAY_CAM.x - 4 <= cam.rect.x and cam.rect.right <= GAMEPLAY_CAM.right + 4
    assert GAMEPLAY_CAM.y - 4 <= cam.rect.y and cam.rect.bottom <= GAMEPLAY_CAM.bottom + 4
    assert cam.rect.w >= 0.6 * GAMEPLAY_CAM.w and cam.rect.h >= 0.75 * GAMEPLAY_CAM.h
    # the face sits inside the cam
    assert cam.rect.x <= cam.face.x and cam.face.right <= cam.rect.right
    assert cam.rect.y <= cam.face.y and cam.face.bottom <= cam.rect.bottom


@needs_clips
@pytest.mark.parametrize("start", [0.0, 10.0, 40.0])
def test_the_lobby_clips_face_cam_is_its_right_hand_panel_not_the_game_panel_beside_it(start):
    cam = find_facecam(LOBBY, start, None if start == 0 else 10.0)
    assert cam is not None
    for edge, measured in (("x", 138), ("y", 44), ("right", 273), ("bottom", 117)):
        assert abs(getattr(cam.rect, edge) - measured) <= 4, (edge, cam.rect)


@needs_clips
@pytest.mark.timeout(300)
def test_vertical_render_of_the_gameplay_clip_has_the_face_cam_in_its_top_band(tmp_path):
    out = tmp_path / "vertical.mp4"
    done = render_clip(GAMEPLAY, out, "vertical", start=20.0, end=23.0, threads=1)
    streams = _streams(out)
    assert (streams["video"]["width"], streams["video"]["height"]) == (1080, 1920)
    assert streams["video"]["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
    assert abs(media.duration_of(out) - 3.0) <= 0.1
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "not faststart: the moov atom must come first"

    top, bottom = done.plan.panels
    band = _frame(out, 1.5, (57, 40), Rect(0, 0, 1080, top.target.h))
    cam_region = _frame(GAMEPLAY, 21.5, (57, 40), done.facecam.rect)
    game_region = _frame(GAMEPLAY, 21.5, (57, 40), Rect(100, 100, 57, 40))
    assert _similarity(band, cam_region) > 0.8
    assert _similarity(band, cam_region) > _similarity(band, game_region) + 0.3
    lower = _frame(out, 1.5, (66, 80), Rect(0, top.target.h, 1080, 1920 - top.target.h))
    assert _similarity(lower, _frame(GAMEPLAY, 21.5, (66, 80), bottom.crop)) > 0.8


@needs_clips
@pytest.mark.timeout(300)
def test_the_command_line_renders_the_lobby_square_and_says_where_the_face_cam_is(tmp_path):
    out = tmp_path / "square.mp4"
    cli = [sys.executable, "-m", "server.render", str(LOBBY), "--layout", "square", "--start", "5", "--end", "7.5"]
    done = subprocess.run([*cli, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "face cam at x=" in done.stdout and "square 1080x1080" in done.stdout
    video = _streams(out)["video"]
    assert (video["width"], video["height"]) == (1080, 1080)
    assert abs(media.duration_of(out) - 2.5) <= 0.1


@needs_clips
def test_a_clips_duration_is_where_its_content_ends_not_what_the_container_claims():
    # The gameplay clip's container says 61.87 s; its video ends at 60.05 s, its audio at 60.01 s.
    assert abs(content_duration(GAMEPLAY) - 60.05) < 0.02
    assert media.duration_of(GAMEPLAY) > 61


@needs_clips
@pytest.mark.timeout(300)
def test_gameplay_without_a_face_cam_is_laid_over_a_blurred_fill_of_itself(tmp_path):
    # The real gameplay clip with its cam cut off: the HUD, the game, no face.
    clip = tmp_path / "no-cam.mp4"
    media.run_ffmpeg(
        ["-ss", "20", "-t", "3", "-i", str(GAMEPLAY), "-vf", "crop=216:160:0:0"]
        + ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy", str(clip)]
    )
    out = tmp_path / "vertical.mp4"
    done = render_clip(clip, out, "vertical", threads=1)
    assert done.facecam is None and done.plan.blurred_fill
    video = _streams(out)["video"]
    assert (video["width"], video["height"]) == (1080, 1920)
    assert abs(media.duration_of(out) - 3.0) <= 0.1
    (panel,) = done.plan.panels
    middle = _frame(out, 1.0, (64, 36), panel.target)
    assert _similarity(middle, _frame(clip, 1.0, (64, 36))) > 0.9
    # the fill above is the same picture, blurred: little detail left
    fill = _frame(out, 1.0, (108, 60), Rect(0, 0, 1080, panel.target.y))
    sharp = _frame(out, 1.0, (108, 60), panel.target)
    assert np.abs(np.diff(fill, axis=1)).mean() < 0.5 * np.abs(np.diff(sharp, axis=1)).mean()


def test_a_missing_clip_or_an_empty_window_is_a_clear_error(tmp_path):
    with pytest.raises(media.MediaError, match="nothing.mp4"):
        render_clip(tmp_path / "nothing.mp4", tmp_path / "out.mp4")
    clip = tmp_path / "bars.mp4"
    media.run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10:duration=1", "-c:v", "libx264", str(clip)])
    with pytest.raises(ValueError, match="empty"):
        render_clip(clip, tmp_path / "out.mp4", start=0.8, end=0.5)
    with pytest.raises(ValueError, match="past the end"):
        render_clip(clip, tmp_path / "out.mp4", start=5.0)
    assert not (tmp_path / "out.mp4").exists()


def test_the_command_line_reports_a_bad_file_and_exits_non_zero(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    cli = [sys.executable, "-m", "server.render", str(bad), "--out", str(tmp_path / "o.mp4")]
    done = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.startswith("error: ") and "bad.mp4" in done.stderr


def test_a_lowered_priority_encode_reports_its_progress_up_to_done(tmp_path):
    seen: list[float] = []
    args = ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=3", "-c:v", "libx264", "-preset", "ultrafast"]
    media.run_ffmpeg_progress([*args, "-y", str(tmp_path / "o.mp4")], 3.0, seen.append, niceness=10)
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) >= 2
    assert abs(media.duration_of(tmp_path / "o.mp4") - 3.0) < 0.1
    with pytest.raises(media.MediaError, match="nowhere"):
        media.run_ffmpeg_progress(["-i", str(tmp_path / "nowhere.mp4"), str(tmp_path / "x.mp4")], 1.0, seen.append)
