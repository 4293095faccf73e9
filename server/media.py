"""The ffmpeg boundary: decode a media file into numpy arrays, cut and join clips.

ffmpeg runs as an argument list (never a shell) and its stderr travels inside `MediaError`, so a
bad file says why it is bad.
"""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

AUDIO_RATE = 48000  # Hz; BS.1770 loudness is defined at 48 kHz
MOTION_FPS = 10  # frames per second sampled for motion; enough to see action, 3x cheaper than 30
MOTION_SIZE = (160, 90)  # width, height of the grey frames compared
# Decoder settings for frames only a scorer sees: no deblocking (its detail is gone once a frame
# is averaged down to 160x90) and one thread (the server decodes many streams at once, and a
# decoder's frame threads cost CPU to coordinate). 1080p60 H.264 high profile, 10 s: 2.32 ->
# 1.62 CPU-s (docs/benchmarks.md). Frames are not skipped: the motion features count them.
CHEAP_DECODE = ["-threads", "1", "-skip_loop_filter", "all"]


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
    return _ffprobe(["-show_format", "-show_streams"], path, timeout=30)


def probe_packets(path: str | Path) -> list[dict]:
    """The first video stream's packets of `path`: [{"pts": seconds, "key": bool}], without decoding."""
    packets = _ffprobe(["-select_streams", "v:0", "-show_entries", "packet=pts_time,flags"], path, timeout=60)
    return [
        {"pts": float(p["pts_time"]), "key": "K" in p.get("flags", "")}
        for p in packets.get("packets", [])
        if p.get("pts_time") not in (None, "N/A")
    ]


def _ffprobe(args: Sequence[str], path: str | Path, timeout: float) -> dict:
    """ffprobe's JSON answer for `args` on `path`; MediaError with its own words when it fails."""
    cmd = [FFPROBE, "-v", "error", "-print_format", "json", *args, str(path)]
    try:
        done = subprocess.run(cmd, capture_output=True, check=True, timeout=timeout)
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
    """Decode the audio of `path` to mono float32 samples at AUDIO_RATE."""
    return samples_from(run_ffmpeg([*_window(start, duration), "-i", str(path), *decoded_outputs(None, "pipe:1")]))


def decode_grey_frames(path: str | Path, start: float = 0.0, duration: float | None = None) -> np.ndarray:
    """Decode video at MOTION_FPS into grey frames of MOTION_SIZE: uint8 array (frames, height, width)."""
    return frames_from(
        run_ffmpeg([*_window(start, duration), *CHEAP_DECODE, "-i", str(path), *decoded_outputs("pipe:1", None)])
    )


def decode_segment(
    path: str | Path, start: float = 0.0, duration: float | None = None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(audio samples, grey frames) of `path` as decode_audio and decode_grey_frames give them, from
    one ffmpeg run: the file is opened, probed and demuxed once instead of twice, which saves about
    a third of the decoding CPU per segment (docs/benchmarks.md). A stream the file lacks is None.
    """
    try:
        return _decode_both(path, start, duration, audio=True, video=True)
    except MediaError as exc:
        failure = exc
    # Rare (an audio-only rendition, a muted capture, a broken file): find out what there is.
    try:
        kinds = {stream.get("codec_type") for stream in probe(path).get("streams", [])}
    except MediaError:
        raise failure from None  # ffmpeg's own words say it best
    if {"audio", "video"} <= kinds:
        raise failure  # both are there: the file itself is the problem
    if not kinds & {"audio", "video"}:
        raise MediaError(f"{path}: neither audio nor video in it")
    return _decode_both(path, start, duration, audio="audio" in kinds, video="video" in kinds)


def _decode_both(
    path: str | Path, start: float, duration: float | None, audio: bool, video: bool
) -> tuple[np.ndarray | None, np.ndarray | None]:
    # Frames go to stdout and audio to a file: two outputs on two pipes could deadlock, each
    # side waiting for the other to be read.
    with tempfile.TemporaryDirectory(prefix="decode-") as tmp:
        pcm = Path(tmp) / "audio.f32"
        args = [*_window(start, duration), *CHEAP_DECODE, "-i", str(path)]
        out = run_ffmpeg(args + decoded_outputs("pipe:1" if video else None, str(pcm) if audio else None))
        samples = samples_from(pcm.read_bytes()) if audio else None
    return samples, (frames_from(out) if video else None)


def decoded_outputs(frames_to: str | None, samples_to: str | None) -> list[str]:
    """ffmpeg output arguments writing the input's first video stream as MOTION_FPS grey frames of
    MOTION_SIZE to `frames_to` and its first audio stream as mono float samples at AUDIO_RATE to
    `samples_to` (either None: not wanted). Both start at time 0 and stay on the clock however the
    source's timestamps jump (the first frame repeated or silence filled in, extra ones dropped),
    so frame i is the moment i / MOTION_FPS and sample j the moment j / AUDIO_RATE. That is what
    lets live ingest (server/live_decode.py) cut one continuous decode by a segment's start and
    end times; a file decoded whole gets the very same arrays.
    """
    args: list[str] = []
    if frames_to is not None:
        width, height = MOTION_SIZE
        chain = f"fps={MOTION_FPS}:start_time=0,scale={width}:{height}:flags=area,format=gray"
        args += ["-map", "0:v:0", "-vf", chain, "-f", "rawvideo", frames_to]
    if samples_to is not None:
        args += ["-map", "0:a:0", "-af", "aresample=async=1:first_pts=0", *_AUDIO_OUT, samples_to]
    return args


def stream_kinds(head: bytes) -> set[str]:
    """The kinds of stream ("audio", "video", ...) the start of a media stream holds (an MPEG-TS
    stream names its streams in its first packets); empty when ffprobe cannot tell."""
    cmd = [FFPROBE, "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", "-i", "pipe:0"]
    try:
        done = subprocess.run(cmd, input=head, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("could not probe the stream's start: %s", exc)
        return set()
    return {line.strip() for line in done.stdout.decode("ascii", "replace").splitlines() if line.strip()}


_AUDIO_OUT = ["-ac", "1", "-ar", str(AUDIO_RATE), "-f", "f32le"]


def samples_from(raw: bytes) -> np.ndarray:
    """Mono float32 samples from the raw bytes `decoded_outputs` writes."""
    return np.frombuffer(raw, dtype=np.float32)


def frames_from(raw: bytes) -> np.ndarray:
    """(frames, height, width) uint8 grey frames from the raw bytes `decoded_outputs` writes."""
    width, height = MOTION_SIZE
    usable = len(raw) - len(raw) % (width * height)
    return np.frombuffer(raw[:usable], dtype=np.uint8).reshape(-1, height, width)


def _window(start: float, duration: float | None) -> list[str]:
    # No -ss at 0: a live MPEG-TS segment keeps the stream's timestamps and needs no seek.
    seek = ["-ss", f"{start:.3f}"] if start > 0 else []
    return seek + (["-t", f"{duration:.3f}"] if duration else [])


def export_clip(segments: Sequence[Path], out_mp4: Path) -> None:
    """Join MPEG-TS segments into one browser-playable mp4 (stream copy, moov atom first)."""
    listing = "concat:" + "|".join(str(p) for p in segments)
    run_ffmpeg(["-y", "-i", listing, "-c", "copy", "-bsf:a", "aac_adtstoasc", "-movflags", "+faststart", str(out_mp4)])


def export_thumbnail(video: Path, at: float, out_jpg: Path, width: int = 320) -> None:
    """Write one frame of `video` at `at` seconds as a jpg `width` pixels wide.

    ffmpeg exits 0 without writing anything when the seek lands past the last decodable frame
    (a segment whose keyframes are sparse, or shorter than its nominal length): then the
    segment's first frame is taken, and no frame at all is a MediaError, never a missing file.
    """
    scale = ["-frames:v", "1", "-vf", f"scale={width}:-2", "-q:v", "4", str(out_jpg)]
    run_ffmpeg(["-y", "-ss", f"{at:.3f}", "-i", str(video), *scale])
    if not out_jpg.is_file() or out_jpg.stat().st_size == 0:
        run_ffmpeg(["-y", "-i", str(video), *scale])
    if not out_jpg.is_file() or out_jpg.stat().st_size == 0:
        raise MediaError(f"{video}: no video frame to make a thumbnail from")


def run_ffmpeg_progress(
    args: Sequence[str],
    duration: float,
    on_progress: Callable[[float], None],
    timeout: float = 1800,
    niceness: int = 0,
) -> None:
    """Run ffmpeg as `run_ffmpeg` does, reporting 0..1 of `duration` encoded to `on_progress` as
    it goes (ffmpeg's `-progress` key=value lines). `niceness` > 0 lowers the child's CPU priority
    (a background render must not slow the scoring of live streams)."""
    cmd = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-progress", "pipe:1", "-nostats", *args]
    # nice(1) rather than a preexec_fn: forking with Python code to run is unsafe in a threaded server.
    if niceness > 0:
        cmd = ["nice", "-n", str(niceness), *cmd]
    with tempfile.TemporaryFile() as errors:
        try:
            child = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=errors,
            )
        except FileNotFoundError as exc:
            raise MediaError("ffmpeg is not installed (apt-get install ffmpeg)") from exc
        # The stdout loop below blocks on a line: a timer ends a stuck ffmpeg so the loop ends.
        timer = threading.Timer(timeout, child.kill)
        timer.start()
        try:
            assert child.stdout is not None
            for line in child.stdout:
                key, _, value = line.decode("ascii", "replace").strip().partition("=")
                if key == "out_time_us" and value.isdigit() and duration > 0:
                    on_progress(min(int(value) / 1e6 / duration, 1.0))
            code = child.wait()
        finally:
            timer.cancel()
        if code != 0:
            if not timer.is_alive() and code < 0:
                raise MediaError(f"ffmpeg timed out after {timeout:.0f} s")
            errors.seek(0)
            message = errors.read().decode("utf-8", "replace").strip().splitlines()
            raise MediaError(message[-1] if message else f"ffmpeg exited with {code}")
    on_progress(1.0)
