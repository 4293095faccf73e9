"""Render a clip ready to post: vertical 9:16 (face cam on top, gameplay below), square 1:1, or
the landscape original trimmed (stream copy when the start is a keyframe, else re-encoded).

The filter graph is built with ffmpeg-python and compiled to an argument list that runs through
the one ffmpeg boundary, `server.media.run_ffmpeg` (timeouts, ffmpeg's own error message).

    python -m server.render CLIP.mp4 --layout vertical|square|landscape [--start S --end E] --out OUT.mp4
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ffmpeg
import numpy as np

from server import media
from server.facecam import FaceCam, find_facecam, video_size
from server.layout import LAYOUTS, Plan, Rect, plan_layout

log = logging.getLogger(__name__)

TRIMMED = "landscape"  # the clip as it is, only trimmed: no layout, no face search
LAYOUT_CHOICES = (*LAYOUTS, TRIMMED)
KEYFRAME_SLACK_S = 0.05  # a start this close to a keyframe is cut there, without re-encoding

BLUR_RADIUS = 40  # px of the 1080-wide fill: the gameplay's colours, none of its detail
# Quality/CPU trade-off of a clip someone will post: x264 "veryfast" at CRF 21 looks like the
# source on a phone and encodes a 30 s 1080x1920 clip in well under a minute on one core.
ENCODE = {
    "vcodec": "libx264",
    "preset": "veryfast",
    "crf": 21,
    "pix_fmt": "yuv420p",
    "acodec": "aac",
    "audio_bitrate": "160k",
}


@dataclass(frozen=True)
class Rendered:
    """What `render_clip` wrote and how it laid it out."""

    out: Path
    layout: str
    plan: Plan | None  # None: the trimmed landscape original
    facecam: FaceCam | None
    focus_x: float
    duration: float
    copied: bool = False  # the trimmed original was cut without re-encoding


def render_clip(
    clip: str | Path,
    out: str | Path,
    layout: str = "vertical",
    start: float = 0.0,
    end: float | None = None,
    threads: int = 0,
    timeout: float = 1800,
    progress: Callable[[float], None] | None = None,
    niceness: int = 0,
) -> Rendered:
    """Write `out` (H.264/AAC mp4, moov atom first) laid out as `layout`, from `clip`'s
    start..end seconds (the whole clip by default). `threads` caps x264's threads (0: ffmpeg's
    choice). `progress` gets 0..1 as the encode goes (when given); `niceness` > 0 runs ffmpeg
    at a lower CPU priority."""
    if layout not in LAYOUT_CHOICES:
        raise ValueError(f"unknown layout {layout!r}: choose one of {', '.join(LAYOUT_CHOICES)}")
    total = content_duration(clip)
    start, end = _window(start, end, total)
    duration = end - start
    if layout == TRIMMED:
        return _trim(clip, out, start, duration, threads, timeout, progress, niceness)
    source_w, source_h = video_size(clip)
    # The cam is searched across the whole clip even for a short window: an overlay does not
    # move within a clip, and more varied frames tell a face from a HUD icon that looks like one.
    cam = find_facecam(clip)
    focus = action_focus(clip, start, duration, cam.rect if cam else None, source_w, source_h)
    plan = plan_layout(source_w, source_h, layout, cam.rect if cam else None, focus)
    args = filter_args(clip, out, plan, start, duration, has_audio=_has_audio(clip), threads=threads)
    if progress is None and niceness <= 0:
        media.run_ffmpeg(args, timeout=timeout)
    else:
        media.run_ffmpeg_progress(args, duration, progress or (lambda _share: None), timeout, niceness)
    return Rendered(Path(out), layout, plan, cam, focus, duration)


def _trim(
    clip: str | Path,
    out: str | Path,
    start: float,
    duration: float,
    threads: int,
    timeout: float,
    progress: Callable[[float], None] | None,
    niceness: int,
) -> Rendered:
    """The clip's start..start+duration as it is: stream copy when `start` is (within
    KEYFRAME_SLACK_S of) a keyframe, so nothing is decoded; re-encoded otherwise, since a copy
    can only begin on a keyframe and would start early or with a broken picture."""
    copy = start <= KEYFRAME_SLACK_S or any(abs(k - start) <= KEYFRAME_SLACK_S for k in keyframes(clip))
    seek = ["-ss", f"{start:.3f}"] if start > 0 else []
    if copy:
        codec = ["-c", "copy"]
    else:
        codec = ["-c:v", "libx264", "-preset", str(ENCODE["preset"]), "-crf", str(ENCODE["crf"]),
                 "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", str(ENCODE["audio_bitrate"]), "-threads", str(threads)]  # fmt: skip
    args = [*seek, "-i", str(clip), "-t", f"{duration:.3f}", *codec, "-movflags", "+faststart", "-y", str(out)]
    if progress is None and niceness <= 0:
        media.run_ffmpeg(args, timeout=timeout)
    else:
        media.run_ffmpeg_progress(args, duration, progress or (lambda _share: None), timeout, niceness)
    return Rendered(Path(out), TRIMMED, None, None, 0.5, duration, copied=copy)


def keyframes(clip: str | Path) -> list[float]:
    """Times (s, from the clip's start) of the video's keyframes, read from the packets (no decode)."""
    info = media.probe_packets(clip)
    first = min((p["pts"] for p in info), default=0.0)
    return [p["pts"] - first for p in info if p["key"]]


def filter_args(
    clip: str | Path,
    out: str | Path,
    plan: Plan,
    start: float,
    duration: float,
    has_audio: bool = True,
    threads: int = 0,
) -> list[str]:
    """ffmpeg's arguments (without the program name) that render `plan` from `clip`."""
    # No seek at 0: on a clip whose video starts late (an edit list, a capture that began with
    # audio) ffmpeg's -ss 0 shifts the audio against the picture.
    seek = {"ss": f"{start:.3f}"} if start > 0 else {}
    source = ffmpeg.input(str(clip), t=f"{duration:.3f}", **seek)
    video = source.video
    copies = video.split()
    layers = [copies.stream(i) for i in range(len(plan.panels) + plan.blurred_fill)]
    placed = [
        _crop(layer, panel.crop).filter("scale", panel.target.w, panel.target.h, flags="lanczos").filter("setsar", 1)
        for layer, panel in zip(layers, plan.panels, strict=False)
    ]
    if plan.blurred_fill:
        fill = (
            layers[-1]
            .filter("scale", plan.width, plan.height, force_original_aspect_ratio="increase")
            .filter("crop", plan.width, plan.height)
            .filter("boxblur", BLUR_RADIUS, 2)
            .filter("eq", brightness=-0.08)
            .filter("setsar", 1)
        )
        frame = fill
        for panel, layer in zip(plan.panels, placed, strict=True):
            frame = ffmpeg.overlay(frame, layer, x=panel.target.x, y=panel.target.y)
    elif len(placed) == 1:
        frame = placed[0]
    else:
        frame = ffmpeg.filter(placed, "vstack", inputs=len(placed))
    streams = [frame.filter("format", "yuv420p")]
    if has_audio:
        streams.append(source.audio)
    output = ffmpeg.output(*streams, str(out), movflags="+faststart", threads=threads, **ENCODE).overwrite_output()
    return ffmpeg.compile(output, cmd="ffmpeg")[1:]


def action_focus(
    clip: str | Path, start: float, duration: float, cam: Rect | None, source_w: int, source_h: int
) -> float:
    """Where the action is across the clip, 0..1 of the width: the motion-weighted mean column
    (the face cam masked out), pulled towards the centre when the motion is spread or faint."""
    frames = media.decode_grey_frames(clip, start, duration).astype(np.float32)
    if len(frames) < 2:
        return 0.5
    motion = np.abs(np.diff(frames, axis=0)).mean(axis=0)
    if cam is not None:
        fh, fw = motion.shape
        x0, x1 = int(cam.x * fw / source_w), int(np.ceil(cam.right * fw / source_w))
        y0, y1 = int(cam.y * fh / source_h), int(np.ceil(cam.bottom * fh / source_h))
        motion[y0:y1, x0:x1] = 0
    columns = motion.sum(axis=0)
    if columns.sum() <= 1e-6:
        return 0.5
    positions = (np.arange(len(columns)) + 0.5) / len(columns)
    weighted = float((columns * positions).sum() / columns.sum())
    # How concentrated the motion is (1: all in one place, 0: even): a clip that moves
    # everywhere keeps the centre, one whose action is in a corner follows it.
    spread = float(np.sqrt((columns * (positions - weighted) ** 2).sum() / columns.sum()))
    even_spread = 1 / np.sqrt(12)
    concentration = max(0.0, 1.0 - spread / even_spread)
    return float(np.clip(0.5 + (weighted - 0.5) * concentration, 0.0, 1.0))


def _crop(stream, rect: Rect):
    return stream.filter("crop", rect.w, rect.h, rect.x, rect.y)


def content_duration(clip: str | Path) -> float:
    """Where the last of `clip`'s audio and video streams ends, in seconds. The container's own
    duration can be longer than anything in it (the seed gameplay clip says 61.87 s; its audio
    ends at 60.01 s and its video at 60.05 s), and a render is as long as its content."""
    ends = [
        float(s.get("start_time", 0) or 0) + float(s["duration"])
        for s in media.probe(clip).get("streams", [])
        if s.get("codec_type") in ("audio", "video") and s.get("duration") not in (None, "N/A")
    ]
    return max(ends) if ends else media.duration_of(clip)


def _window(start: float, end: float | None, total: float) -> tuple[float, float]:
    if start >= total:
        raise ValueError(f"start {start:.2f} s is past the end of the clip ({total:.2f} s)")
    if end is None:
        end = total
    if start < 0 or end <= start:
        raise ValueError(f"the window {start:.2f}-{end:.2f} s is empty (start must be >= 0 and before end)")
    return start, min(end, total)


def _has_audio(clip: str | Path) -> bool:
    return any(s.get("codec_type") == "audio" for s in media.probe(clip).get("streams", []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.render", description=__doc__.split("\n\n")[0])
    parser.add_argument("clip", type=Path, help="the landscape clip (any file ffmpeg reads)")
    parser.add_argument("--layout", choices=sorted(LAYOUT_CHOICES), default="vertical")
    parser.add_argument("--start", type=float, default=0.0, help="seconds into the clip (default 0)")
    parser.add_argument("--end", type=float, default=None, help="seconds into the clip (default: its end)")
    parser.add_argument("--out", type=Path, required=True, help="the mp4 to write")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        done = render_clip(args.clip, args.out, args.layout, args.start, args.end)
    except (media.MediaError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if done.plan is None:
        how = "stream copy: the start is a keyframe" if done.copied else "re-encoded: the start is not a keyframe"
        print(f"wrote {done.out}: the landscape original, {done.duration:.2f} s ({how})")
        return 0
    print(done.facecam.describe() if done.facecam else "no face cam found: gameplay over a blurred fill")
    top = done.plan.panels[0]
    print(
        f"wrote {done.out}: {done.layout} {done.plan.width}x{done.plan.height}, {done.duration:.2f} s,"
        f" gameplay crop centred at {done.focus_x:.2f} of the width"
        + (f", face cam in the top {top.target.h} px" if done.facecam else "")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
