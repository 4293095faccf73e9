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
from collections.abc import Sequence
from dataclasses import dataclass
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
MANIFEST_VERSION = 3  # bump when the encoding changes, to invalidate old caches


class SegmentError(RuntimeError):
    """Raised by `prepare_segments` when ffmpeg is missing or fails; carries ffmpeg's stderr."""


def _blocks() -> list[tuple[Path, int]]:
    """The (clip, start second) pieces in play order: lobby 0-30, gameplay 0-30, lobby 30-60..."""
    return [(clip, start) for start in range(0, CLIP_SECONDS, BLOCK_SECONDS) for clip in CLIPS]


@dataclass(frozen=True)
class Rung:
    """One rendition of a Twitch-like ladder: what a multi-variant playlist announces for it."""

    width: int
    height: int
    fps: int
    kbps: int | None = None  # constant video bitrate; None: the demo's own quality (CRF)

    @property
    def name(self) -> str:
        """Twitch's and streamlink's name for it: 160p30 -> "160p", 1080p60 -> "1080p60"."""
        return f"{self.height}p" + (str(self.fps) if self.fps > 30 else "")

    @property
    def bandwidth(self) -> int:
        """Bits per second announced in the multi-variant playlist (video + 96k audio)."""
        return ((self.kbps or 300) + 96) * 1000


DEMO_RUNG = Rung(WIDTH, HEIGHT, FPS)  # the clips' own size: the one-rendition demo channel
# What a partnered Twitch channel offers (Twitch's transcode ladder), for `bench.streams`.
TWITCH_LADDER = (
    Rung(1920, 1080, 60, 6000),
    Rung(1280, 720, 60, 3500),
    Rung(640, 360, 30, 700),
    Rung(284, 160, 30, 230),
)


def _ffmpeg_args(ffmpeg: str, outputs: Sequence[tuple[Path, Rung]]) -> list[str]:
    """One ffmpeg run that encodes the demo once per rung, all from the same decoded frames: every
    rendition has its keyframes, segment boundaries and timestamps at the same instants, as
    Twitch's transcodes do (a player, or our ingest, can switch between them by timestamp)."""
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
    n = len(outputs)
    filters.append(f"{pads}concat=n={len(_blocks())}:v=1:a=1[v][a]")
    filters.append(f"[v]split={n}" + "".join(f"[s{k}]" for k in range(n)))
    filters.append(f"[a]asplit={n}" + "".join(f"[t{k}]" for k in range(n)))
    for k, (_, rung) in enumerate(outputs):
        filters.append(f"[s{k}]fps={rung.fps},scale={rung.width}:{rung.height}:flags=bicubic,setsar=1[o{k}]")
    args += ["-filter_complex", ";".join(filters)]
    for k, (out_dir, rung) in enumerate(outputs):
        args += ["-map", f"[o{k}]", "-map", f"[t{k}]"]
        if rung.kbps is None:  # the demo: cheap to make and to decode
            quality = ["-profile:v", "baseline", "-crf", "26", "-preset", "ultrafast"]
        else:  # as a broadcaster sends it: OBS's default x264 preset, high profile, constant bitrate
            kbps = rung.kbps  # (Twitch asks for CBR); decoding it costs what a real channel costs
            quality = ["-profile:v", "high", "-preset", "veryfast",
                       "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{2 * kbps}k"]  # fmt: skip
        args += [
            "-c:v", "libx264", *quality,
            "-g", str(SEGMENT_SECONDS * rung.fps), "-sc_threshold", "0",
            "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
            "-c:a", "aac", "-b:a", "96k", "-ar", str(SAMPLE_RATE), "-ac", "2",
            "-f", "segment", "-segment_time", str(SEGMENT_SECONDS), "-segment_format", "mpegts",
            # Forced keyframes land on exact frame times; half a frame of slack avoids skipping one.
            "-segment_time_delta", f"{1 / (2 * rung.fps):.4f}",
            str(out_dir / "%03d.ts"),
        ]  # fmt: skip
    return args


def _source_fingerprint() -> dict[str, int]:
    return {clip.name: clip.stat().st_size for clip in CLIPS}


def _ladder_key(ladder: Sequence[Rung]) -> list[list[int | None]]:
    return [[r.width, r.height, r.fps, r.kbps] for r in ladder]


def _cached(cache_dir: Path, ladder: Sequence[Rung]) -> dict[str, list[Path]] | None:
    try:
        manifest = json.loads((cache_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if (
        manifest.get("version") != MANIFEST_VERSION
        or manifest.get("sources") != _source_fingerprint()
        or manifest.get("ladder") != _ladder_key(ladder)
    ):
        return None
    found = {name: [cache_dir / f for f in files] for name, files in manifest.get("segments", {}).items()}
    if not found or not all(paths and all(p.is_file() for p in paths) for paths in found.values()):
        return None
    return found


def prepare_segments(cache_dir: str | Path, ffmpeg: str = "ffmpeg") -> list[Path]:
    """Return the demo's segment files in play order, encoding them into `cache_dir` if needed."""
    return prepare_renditions(cache_dir, (DEMO_RUNG,), ffmpeg)[DEMO_RUNG.name]


def prepare_renditions(cache_dir: str | Path, ladder: Sequence[Rung], ffmpeg: str = "ffmpeg") -> dict[str, list[Path]]:
    """Segment files of the demo encoded once per rung of `ladder` ({rung name: files in play
    order}), encoded into `cache_dir` if needed: same count, same boundaries, same timestamps."""
    cache_dir = Path(cache_dir)
    cached = _cached(cache_dir, ladder)
    if cached is not None:
        return cached
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    # Encode into a scratch directory and move it into place at the end, so an interrupted or
    # concurrent run never leaves a half-written cache behind a valid-looking manifest.
    work = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}-", dir=cache_dir.parent))
    try:
        outputs = [(work / rung.name, rung) for rung in ladder]
        for out_dir, _ in outputs:
            out_dir.mkdir()
        _encode(_ffmpeg_args(ffmpeg, outputs), ffmpeg)
        found = {rung.name: sorted((work / rung.name).glob("*.ts")) for rung in ladder}
        if not all(found.values()) or len({len(files) for files in found.values()}) != 1:
            raise SegmentError(f"ffmpeg wrote { ({k: len(v) for k, v in found.items()}) } segments")
        manifest = {
            "version": MANIFEST_VERSION,
            "sources": _source_fingerprint(),
            "ladder": _ladder_key(ladder),
            "segment_seconds": SEGMENT_SECONDS,
            "segments": {name: [f"{name}/{p.name}" for p in files] for name, files in found.items()},
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1))
        _install(work, cache_dir, ladder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cached = _cached(cache_dir, ladder)
    if cached is None:
        raise SegmentError(f"{cache_dir}: segments vanished after encoding")
    log.info("demo: %d segments of %d s per rendition (%s) in %s", len(next(iter(cached.values()))),
             SEGMENT_SECONDS, ", ".join(cached), cache_dir)  # fmt: skip
    return cached


def _encode(args: list[str], ffmpeg: str) -> None:
    log.info("demo: encoding %d s of video into %d s segments", len(_blocks()) * BLOCK_SECONDS,
             SEGMENT_SECONDS)  # fmt: skip
    try:
        subprocess.run(args, check=True, capture_output=True)
    except FileNotFoundError as exc:
        raise SegmentError(f"ffmpeg not found ({ffmpeg!r}); install it or pass its path") from exc
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode("utf-8", errors="replace").strip()
        raise SegmentError(f"ffmpeg failed with exit code {exc.returncode}: {stderr}") from exc


def _install(work: Path, cache_dir: Path, ladder: Sequence[Rung]) -> None:
    if cache_dir.exists():
        if _cached(cache_dir, ladder) is not None:
            return  # a concurrent run finished first; its segments are as good as ours
        shutil.rmtree(cache_dir)
    work.chmod(0o755)  # mkdtemp makes it private; the cache is ordinary shared data
    try:
        os.replace(work, cache_dir)
    except OSError:
        if _cached(cache_dir, ladder) is None:
            raise
