"""Find a streamer's face cam in a clip: one stable rectangle for the whole clip, not per frame.

Frames are sampled evenly across the clip and searched with OpenCV's Haar face cascade (the file
ships inside the opencv wheel: nothing is downloaded). A face cam is a face that stays put: the
detections of all frames are grouped by place, and only a group seen in enough of the frames
counts (a single-frame hit is a game character or a HUD icon). The cam's rectangle is then grown
from the face to the overlay's border: the edges that stay in place across the sampled frames
while the gameplay around them changes. Where no border is found, a face-sized default box is
used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from server import media
from server.layout import Rect

log = logging.getLogger(__name__)

SAMPLES = 12  # frames searched per clip: enough for a group to stand out, cheap on 2 cores
# Frames are searched at this width: a small source (a 284 px Twitch clip, a 160p rendition) is
# upscaled so a 10 px face in its cam is big enough for the cascade; a 1080p one is shrunk.
ANALYSIS_WIDTH = 1136
MIN_FACE = 28  # pixels at ANALYSIS_WIDTH
MIN_SHARE = 0.25  # of the sampled frames a face must be found in, at one place, to be a face cam
CASCADE = "haarcascade_frontalface_alt2.xml"  # fewer false hits on game HUDs than the default one
BORDER_PERSISTENCE = 0.5  # an overlay border is an edge in at least this share of the frames


@dataclass(frozen=True)
class FaceCam:
    """The face cam found in a clip, in source pixels."""

    rect: Rect  # the cam overlay
    face: Rect  # the face in it (median of the detections)
    seen: int  # sampled frames the face was found in
    sampled: int

    def describe(self) -> str:
        r, f = self.rect, self.face
        return (
            f"face cam at x={r.x} y={r.y} {r.w}x{r.h} (face at x={f.x} y={f.y} {f.w}x{f.h},"
            f" seen in {self.seen} of {self.sampled} sampled frames)"
        )


def sample_frames(
    clip: str | Path, start: float = 0.0, duration: float | None = None, count: int = SAMPLES
) -> tuple[np.ndarray, float]:
    """`count` BGR frames spread evenly over the clip (or its start..start+duration window), at
    ANALYSIS_WIDTH, and the factor from analysis to source pixels."""
    width, height = video_size(clip)
    if duration is None:
        duration = max(media.duration_of(clip) - start, 0.1)
    analysis_h = max(2, round(height * ANALYSIS_WIDTH / width / 2) * 2)
    seek = ["-ss", f"{start:.3f}"] if start > 0 else []
    raw = media.run_ffmpeg(
        [
            *seek,
            "-t",
            f"{duration:.3f}",
            "-i",
            str(clip),
            "-an",
            "-vf",
            f"fps={count / duration:.6f},scale={ANALYSIS_WIDTH}:{analysis_h}:flags=bicubic",
            "-frames:v",
            str(count),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "bgr24",
            "pipe:1",
        ]
    )
    size = ANALYSIS_WIDTH * analysis_h * 3
    frames = np.frombuffer(raw[: len(raw) - len(raw) % size], dtype=np.uint8).reshape(-1, analysis_h, ANALYSIS_WIDTH, 3)
    if len(frames) == 0:
        raise media.MediaError(f"{clip}: no video frames to search for a face cam")
    return frames, width / ANALYSIS_WIDTH


def video_size(clip: str | Path) -> tuple[int, int]:
    """Width and height of the first video stream of `clip`."""
    for stream in media.probe(clip).get("streams", []):
        if stream.get("codec_type") == "video" and stream.get("width"):
            return int(stream["width"]), int(stream["height"])
    raise media.MediaError(f"{clip}: no video stream")


def find_facecam(clip: str | Path, start: float = 0.0, duration: float | None = None) -> FaceCam | None:
    """The face cam of `clip` in source pixels, or None when no face stays in one place."""
    frames, scale = sample_frames(clip, start, duration)
    found = locate_facecam(frames)
    if found is None:
        return None
    rect, face, seen = found
    return FaceCam(_scaled(rect, scale), _scaled(face, scale), seen, len(frames))


def locate_facecam(frames: np.ndarray) -> tuple[Rect, Rect, int] | None:
    """(cam rectangle, face, frames seen in) in the pixels of `frames` (BGR), or None."""
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / CASCADE))
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {CASCADE} did not load from {cv2.data.haarcascades}")
    # Local contrast: a face cam is often dark next to a bright game.
    contrast = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    greys = [contrast.apply(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)) for frame in frames]
    height = greys[0].shape[0]
    detections: list[list[Rect]] = []
    for grey in greys:
        boxes = cascade.detectMultiScale(
            grey, scaleFactor=1.1, minNeighbors=3, minSize=(MIN_FACE, MIN_FACE), maxSize=(height // 2, height // 2)
        )
        detections.append([Rect(int(x), int(y), int(w), int(h)) for x, y, w, h in boxes])
    group = _steadiest_face(detections)
    if group is None or len(group) < max(2, MIN_SHARE * len(frames)):
        return None
    face = Rect(*(int(np.median([getattr(r, k) for r in group])) for k in ("x", "y", "w", "h")))
    edges = np.mean([cv2.Canny(grey, 60, 150) > 0 for grey in greys], axis=0)
    return _grow_to_border(face, edges), face, len(group)


def _steadiest_face(detections: list[list[Rect]]) -> list[Rect] | None:
    """The largest group of detections (at most one per frame) whose centres lie within half a
    face of each other."""
    best: list[Rect] | None = None
    for seed in (r for frame in detections for r in frame):
        cx, cy = seed.x + seed.w / 2, seed.y + seed.h / 2
        group = []
        for frame in detections:
            near = [r for r in frame if abs(r.x + r.w / 2 - cx) < seed.w / 2 and abs(r.y + r.h / 2 - cy) < seed.h / 2]
            if near:
                group.append(min(near, key=lambda r: abs(r.x + r.w / 2 - cx) + abs(r.y + r.h / 2 - cy)))
        if best is None or len(group) > len(best):
            best = group
    return best


def _grow_to_border(face: Rect, edges: np.ndarray) -> Rect:
    """From the face outwards, the nearest line of persistent edges on each side (the overlay's
    frame or where the cam meets the game), within a few face sizes; a default margin where none."""
    h, w = edges.shape
    rows = slice(max(0, face.y - face.h // 2), min(h, face.bottom + face.h // 2))
    cols = slice(max(0, face.x - face.w // 2), min(w, face.right + face.w // 2))
    column_support = edges[rows, :].mean(axis=0)  # per column, over the face's rows
    row_support = edges[:, cols].mean(axis=1)

    def first(support: np.ndarray, begin: int, end: int, default: int) -> int:
        step = 1 if end >= begin else -1
        for i in range(begin, end, step):
            if 0 <= i < len(support) and support[i] >= BORDER_PERSISTENCE:
                return i
        return min(max(default, 0), len(support) - 1)

    gap_x, gap_y = face.w // 3, face.h // 3
    left = first(column_support, face.x - gap_x, face.x - 4 * face.w, face.x - 2 * face.w)
    right = first(column_support, face.right + gap_x, face.right + 4 * face.w, face.right + 2 * face.w)
    top = first(row_support, face.y - gap_y, face.y - 3 * face.h, face.y - face.h)
    bottom = first(row_support, face.bottom + gap_y, face.bottom + 3 * face.h, face.bottom + 3 * face.h // 2)
    return Rect(left, top, right - left + 1, bottom - top + 1)


def _scaled(rect: Rect, scale: float) -> Rect:
    return Rect(
        round(rect.x * scale), round(rect.y * scale), max(1, round(rect.w * scale)), max(1, round(rect.h * scale))
    )
