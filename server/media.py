"""The ffmpeg boundary: decode a media file into numpy arrays, cut and join clips.

ffmpeg runs as an argument list (never a shell) and its stderr travels inside `MediaError`, so a
bad file says why it is bad.
"""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

AUDIO_RATE = 48000  # Hz; BS.1770 loudness is defined at 48 kHz
MOTION_FPS = 10  # frames per second sampled for motion; enough to see action, 3x cheaper than 30
MOTION_SIZE = (160, 90)  # width, height of the grey frames compared


class MediaError(Exception):
    """Raised when ffmpeg/ffprobe cannot read or write a file; carries ffmpeg's own message."""


def run_ffmpeg(args: Sequence[str], timeout: float = 120) -> bytes:
    """Run ffmpeg with `args` and return its stdout; raise MediaError with its stderr on failure."""
    cmd = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, check=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise MediaError("ffmpeg is not installed (apt-get install ffmpeg)") from exc
    except subprocess.TimeoutExpired as exc:
        raise MediaError(f"ffmpeg timed out after {timeout:.0f} s") from exc
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MediaError(message[-1] if message else f"ffmpeg exited with {exc.returncode}") from exc
    return done.stdout


def probe(path: str | Path) -> dict:
    """Return ffprobe's format and stream description of `path`."""
    cmd = [FFPROBE, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, check=True, timeout=30)
    except subprocess.CalledProcessError as exc:
        raise MediaError(f"{path}: {exc.stderr.decode('utf-8', 'replace').strip() or 'unreadable'}") from exc
    except FileNotFoundError as exc:
        raise MediaError("ffprobe is not installed (apt-get install ffmpeg)") from exc
    return json.loads(done.stdout)


def duration_of(path: str | Path) -> float:
    """Duration in seconds of a media file."""
    info = probe(path)
    try:
        return float(info["format"]["duration"])
    except (KeyError, ValueError) as exc:
        raise MediaError(f"{path}: no duration (not a media file?)") from exc


def decode_audio(path: str | Path, start: float = 0.0, duration: float | None = None) -> np.ndarray:
    """Decode the audio of `path` to mono float32 samples at AUDIO_RATE; empty if it has none."""
    out = run_ffmpeg([*_window(start, duration), "-i", str(path), "-vn", "-ac", "1", "-ar", str(AUDIO_RATE), "-f", "f32le", "pipe:1"])
    return np.frombuffer(out, dtype=np.float32)


def decode_grey_frames(path: str | Path, start: float = 0.0, duration: float | None = None) -> np.ndarray:
    """Decode video at MOTION_FPS into grey frames of MOTION_SIZE: uint8 array (frames, height, width)."""
    width, height = MOTION_SIZE
    out = run_ffmpeg([
        *_window(start, duration), "-i", str(path), "-an",
        "-vf", f"fps={MOTION_FPS},scale={width}:{height}:flags=area,format=gray",
        "-f", "rawvideo", "pipe:1",
    ])
    frame_bytes = width * height
    usable = len(out) - len(out) % frame_bytes
    return np.frombuffer(out[:usable], dtype=np.uint8).reshape(-1, height, width)


def _window(start: float, duration: float | None) -> list[str]:
    # No -ss at 0: a live MPEG-TS segment keeps the stream's timestamps and needs no seek.
    seek = ["-ss", f"{start:.3f}"] if start > 0 else []
    return seek + (["-t", f"{duration:.3f}"] if duration else [])


def export_clip(segments: Sequence[Path], out_mp4: Path) -> None:
    """Join MPEG-TS segments into one browser-playable mp4 (stream copy, moov atom first)."""
    listing = "concat:" + "|".join(str(p) for p in segments)
    run_ffmpeg(["-y", "-i", listing, "-c", "copy", "-bsf:a", "aac_adtstoasc", "-movflags", "+faststart", str(out_mp4)])


def export_thumbnail(video: Path, at: float, out_jpg: Path, width: int = 320) -> None:
    """Write one frame of `video` at `at` seconds as a jpg `width` pixels wide."""
    run_ffmpeg(["-y", "-ss", f"{at:.3f}", "-i", str(video), "-frames:v", "1", "-vf", f"scale={width}:-2", "-q:v", "4", str(out_jpg)])
