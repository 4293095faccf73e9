"""Cut the demo clips into 2-second MPEG-TS segments that a fake live HLS channel can loop.

One ffmpeg run re-encodes everything to the same H.264 baseline + AAC configuration, with a
keyframe forced every 2 s, so each segment starts on a keyframe and a player can switch between
the clips (and across the loop) without a new decoder set-up. The clips alternate in 30 s blocks
(lobby, gameplay, lobby, gameplay) so the channel has quiet and busy stretches.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

MEDIA_DIR = Path(__file__).resolve().parent / "media"
CLIPS = (MEDIA_DIR / "seed-lobby.mp4", MEDIA_DIR / "seed-gameplay.mp4")
SEGMENT_SECONDS = 2  # seconds per HLS segment; also the forced keyframe interval
BLOCK_SECONDS = 30  # seconds of one clip before switching to the other
CLIP_SECONDS = 60  # seconds used from each clip (both are 60 s Twitch clips)
FPS = 30  # frames per second of the clips and of the output
WIDTH, HEIGHT = 284, 160  # pixels, the clips' own size
SAMPLE_RATE = 48000  # Hz, AAC
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1  # bump when the encoding changes, to invalidate old caches


class SegmentError(RuntimeError):
    """Raised by `prepare_segments` when ffmpeg is missing or fails; carries ffmpeg's stderr."""


def _blocks() -> list[tuple[Path, int]]:
    """The (clip, start second) pieces in play order: lobby 0-30, gameplay 0-30, lobby 30-60..."""
    return [(clip, start) for start in range(0, CLIP_SECONDS, BLOCK_SECONDS) for clip in CLIPS]


def _ffmpeg_args(ffmpeg: str, out_dir: Path) -> list[str]:
    args = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    filters = []
    for i, (clip, start) in enumerate(_blocks()):
        # Input seeking, then exact trimming by the decoder: every block is BLOCK_SECONDS long.
        args += ["-ss", str(start), "-t", str(BLOCK_SECONDS), "-i", str(clip)]
        filters.append(
            f"[{i}:v]fps={FPS},scale={WIDTH}:{HEIGHT},setsar=1,format=yuv420p,"
            f"setpts=PTS-STARTPTS[v{i}];"
            f"[{i}:a]aresample={SAMPLE_RATE},aformat=channel_layouts=stereo,"
            f"asetpts=PTS-STARTPTS[a{i}]"
        )
    pads = "".join(f"[v{i}][a{i}]" for i in range(len(_blocks())))
    filters.append(f"{pads}concat=n={len(_blocks())}:v=1:a=1[v][a]")
    args += ["-filter_complex", ";".join(filters), "-map", "[v]", "-map", "[a]"]
    args += [
        "-c:v", "libx264", "-profile:v", "baseline", "-preset", "ultrafast", "-crf", "26",
        "-g", str(SEGMENT_SECONDS * FPS), "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
        "-c:a", "aac", "-b:a", "96k", "-ar", str(SAMPLE_RATE), "-ac", "2",
        "-f", "segment", "-segment_time", str(SEGMENT_SECONDS), "-segment_format", "mpegts",
        # Forced keyframes land on exact frame times; half a frame of slack avoids skipping one.
        "-segment_time_delta", f"{1 / (2 * FPS):.4f}",
        str(out_dir / "%03d.ts"),
    ]  # fmt: skip
    return args


def _source_fingerprint() -> dict[str, int]:
    return {clip.name: clip.stat().st_size for clip in CLIPS}


def _cached(cache_dir: Path) -> list[Path] | None:
    try:
        manifest = json.loads((cache_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("version") != MANIFEST_VERSION or manifest.get("sources") != _source_fingerprint():
        return None
    paths = [cache_dir / name for name in manifest.get("segments", [])]
    return paths if paths and all(p.is_file() for p in paths) else None


def prepare_segments(cache_dir: str | Path, ffmpeg: str = "ffmpeg") -> list[Path]:
    """Return the demo's segment files in play order, encoding them into `cache_dir` if needed."""
    cache_dir = Path(cache_dir)
    cached = _cached(cache_dir)
    if cached is not None:
        return cached
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    # Encode into a scratch directory and move it into place at the end, so an interrupted or
    # concurrent run never leaves a half-written cache behind a valid-looking manifest.
    work = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}-", dir=cache_dir.parent))
    try:
        _encode(ffmpeg, work)
        segments = sorted(work.glob("*.ts"))
        if not segments:
            raise SegmentError("ffmpeg wrote no segments")
        manifest = {
            "version": MANIFEST_VERSION,
            "sources": _source_fingerprint(),
            "segment_seconds": SEGMENT_SECONDS,
            "segments": [p.name for p in segments],
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1))
        _install(work, cache_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cached = _cached(cache_dir)
    if cached is None:
        raise SegmentError(f"{cache_dir}: segments vanished after encoding")
    log.info("demo: %d segments of %d s in %s", len(cached), SEGMENT_SECONDS, cache_dir)
    return cached


def _encode(ffmpeg: str, out_dir: Path) -> None:
    args = _ffmpeg_args(ffmpeg, out_dir)
    log.info("demo: encoding %d s of video into %d s segments", len(_blocks()) * BLOCK_SECONDS,
             SEGMENT_SECONDS)  # fmt: skip
    try:
        subprocess.run(args, check=True, capture_output=True)
    except FileNotFoundError as exc:
        raise SegmentError(f"ffmpeg not found ({ffmpeg!r}); install it or pass its path") from exc
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode("utf-8", errors="replace").strip()
        raise SegmentError(f"ffmpeg failed with exit code {exc.returncode}: {stderr}") from exc


def _install(work: Path, cache_dir: Path) -> None:
    if cache_dir.exists():
        if _cached(cache_dir) is not None:
            return  # a concurrent run finished first; its segments are as good as ours
        shutil.rmtree(cache_dir)
    work.chmod(0o755)  # mkdtemp makes it private; the cache is ordinary shared data
    try:
        os.replace(work, cache_dir)
    except OSError:
        if _cached(cache_dir) is None:
            raise
