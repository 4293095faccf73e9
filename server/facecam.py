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
MAX_BOXES = 8  # bordered rectangles searched for a face, best bordered first
ZOOMED_WIDTH = 400  # px a bordered rectangle is scaled to before the face search
# The cascade's evidence asked of a face inside a bordered box: less than on the open picture,
# where a HUD icon may pass for a face; a cam's frame is evidence too.
BOX_NEIGHBOURS = 2
MIN_BOX_FACES, MIN_BOX_SHARE = 1, 0.0  # frames a face must be found in, inside a bordered box
OPEN_SAMPLES = 12  # frames the open picture is searched in when no bordered box holds a face
MIN_SKIN = 0.3  # share of a face's middle in skin tones, for a face found in a bordered box


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
    """(cam rectangle, face, frames seen in) in the pixels of `frames` (BGR), or None.

    First the overlay way: rectangles whose borders stay put across the frames are searched for
    a face, zoomed in (a 10 px face in a 160p clip is found far more often at 4x its size with
    the contrast of its own box). Then, for a cam without a frame, the whole picture: a face
    found at one place in enough of the frames.
    """
    folder = cv2.data.haarcascades  # type: ignore[attr-defined]  # opencv's stubs leave out cv2.data
    cascade = cv2.CascadeClassifier(str(Path(folder) / CASCADE))
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {CASCADE} did not load from {folder}")
    # Local contrast: a face cam is often dark next to a bright game.
    contrast = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    greys = [cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) for frame in frames]
    edges = np.mean([cv2.Canny(grey, 60, 150) > 0 for grey in greys], axis=0)
    boxes = overlay_rectangles(edges)
    framed = _faces_in_boxes(cascade, contrast, frames, greys, boxes)
    if framed is not None:
        return framed
    height = greys[0].shape[0]
    detections: list[list[Rect]] = []
    open_picture = greys[:: max(1, len(greys) // OPEN_SAMPLES)]  # the whole frame costs far more
    for grey in open_picture:
        found = cascade.detectMultiScale(
            contrast.apply(grey),
            scaleFactor=1.1,
            minNeighbors=3,
            minSize=(MIN_FACE, MIN_FACE),
            maxSize=(height // 2, height // 2),
        )
        detections.append([Rect(int(x), int(y), int(w), int(h)) for x, y, w, h in found])
    group = _steadiest_face(detections)
    if group is None or len(group) < max(2, MIN_SHARE * len(open_picture)):
        return None
    face = _median_rect(group)
    return _grow_to_border(face, edges), face, len(group)


def overlay_rectangles(edges: np.ndarray) -> list[Rect]:
    """Rectangles drawn by persistent edges (`edges`: the share of frames each pixel is an edge
    in), best bordered first: an overlay's frame, a cam's edge against the game."""
    h, w = edges.shape
    lines = cv2.dilate((edges >= BORDER_PERSISTENCE * 0.8).astype(np.uint8), np.ones((3, 3), np.uint8))
    # Close small gaps along each direction (a logo or a name tag over the border).
    across = cv2.morphologyEx(lines, cv2.MORPH_CLOSE, np.ones((1, 15), np.uint8))
    down = cv2.morphologyEx(lines, cv2.MORPH_CLOSE, np.ones((15, 1), np.uint8))
    rows, cols = _line_positions(across, int(0.06 * w)), _line_positions(down.T, int(0.06 * h))
    found: list[tuple[float, Rect]] = []
    for i, y0 in enumerate(rows):
        for y1 in rows[i + 1 :]:
            if not 0.1 * h <= y1 - y0 <= 0.8 * h:
                continue
            for j, x0 in enumerate(cols):
                for x1 in cols[j + 1 :]:
                    if not (0.1 * w <= x1 - x0 <= 0.8 * w and 0.6 < (x1 - x0) / (y1 - y0) < 3.2):
                        continue
                    sides = [
                        across[y0, x0 : x1 + 1].mean(),
                        across[y1, x0 : x1 + 1].mean(),
                        down[y0 : y1 + 1, x0].mean(),
                        down[y0 : y1 + 1, x1].mean(),
                    ]
                    # Three good sides are enough: a cam's inner side often fades into the game.
                    if sum(side >= 0.7 for side in sides) >= 3 and np.mean(sides) >= 0.7:
                        found.append((float(np.mean(sides)), Rect(x0, y0, x1 - x0, y1 - y0)))
    found.sort(key=lambda item: -item[0])
    kept: list[Rect] = []
    for _, rect in found:
        if all(_overlap(rect, other) < 0.5 for other in kept):
            kept.append(rect)
    return [rect for _, rect in found if rect in kept] if kept else []


def _faces_in_boxes(
    cascade: cv2.CascadeClassifier,
    contrast: cv2.CLAHE,
    frames: np.ndarray,
    greys: list[np.ndarray],
    boxes: list[Rect],
) -> tuple[Rect, Rect, int] | None:
    """The box a face is found in most often (zoomed in, frame by frame), grown by the boxes it is
    split into (a cam's frame often has inner lines: a name bar, a logo), or None."""
    found: list[tuple[int, Rect, list[Rect]]] = []
    for box in boxes[:MAX_BOXES]:
        zoom = ZOOMED_WIDTH / box.w
        faces = []
        for frame, grey in zip(frames, greys, strict=True):
            crop = grey[box.y : box.bottom, box.x : box.right]
            big = contrast.apply(cv2.resize(crop, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC))
            hits = cascade.detectMultiScale(
                big, scaleFactor=1.1, minNeighbors=BOX_NEIGHBOURS, minSize=(MIN_FACE, MIN_FACE)
            )
            hits = [r for r in hits if _skin_share(frame, _unzoomed(r, box, zoom)) >= MIN_SKIN]
            if hits:
                faces.append(_unzoomed(max(hits, key=lambda r: r[2]), box, zoom))
        if faces:
            found.append((len(faces), box, faces))
    found = [item for item in found if item[0] >= max(MIN_BOX_FACES, MIN_BOX_SHARE * len(greys))]
    if not found:
        return None
    seen, box, faces = max(found, key=lambda item: (item[0], -_area(item[1])))
    # A panel around the cam holds the same face: a box inside the best one where the face is
    # found about as often is the cam itself.
    inside = [
        item
        for item in found
        if _intersection(item[1], box) >= 0.9 * _area(item[1]) and item[0] >= 0.6 * seen and item[1] != box
    ]
    if inside:
        seen, box, faces = min(inside, key=lambda item: _area(item[1]))
    merged = box
    tolerance = 0.03 * max(greys[0].shape)
    for other in boxes:
        # The parts of the cam's box split off by inner lines: smaller, mostly inside it, sharing two
        # of its edges (not a bigger box around it, which holds the face too, nor a neighbour).
        if (
            _area(other) <= _area(box)
            and _intersection(box, other) >= 0.8 * _area(other)
            and _shared_edges(box, other, tolerance) >= 2
        ):
            merged = _union(merged, other)
    return merged, _median_rect(faces), seen


def _unzoomed(hit, box: Rect, zoom: float) -> Rect:
    x, y, w, h = (int(v) for v in hit)
    return Rect(box.x + round(x / zoom), box.y + round(y / zoom), max(1, round(w / zoom)), max(1, round(h / zoom)))


def _skin_share(frame: np.ndarray, face: Rect) -> float:
    """Share of the face's middle that has a skin tone (the YCrCb box of Chai and Ngan, 1999):
    a game character's or a test card's "face" has none."""
    middle = frame[face.y + face.h // 4 : face.bottom - face.h // 4, face.x + face.w // 4 : face.right - face.w // 4]
    if middle.size == 0:
        return 0.0
    ycrcb = cv2.cvtColor(middle, cv2.COLOR_BGR2YCrCb)
    cr, cb = ycrcb[..., 1], ycrcb[..., 2]
    return float(((cr >= 133) & (cr <= 173) & (cb >= 77) & (cb <= 127)).mean())


def _line_positions(mask: np.ndarray, min_run: int) -> list[int]:
    """Rows of `mask` holding a run of at least `min_run` set pixels; neighbouring rows count once."""
    longest = []
    for row in mask:
        change = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
        runs = np.flatnonzero(change == -1) - np.flatnonzero(change == 1)
        longest.append(int(runs.max()) if len(runs) else 0)
    groups: list[list[int]] = []
    for i, run in enumerate(longest):
        if run < min_run:
            continue
        if groups and i - groups[-1][-1] <= 2:
            groups[-1].append(i)
        else:
            groups.append([i])
    return [max(group, key=lambda i: longest[i]) for group in groups]


def _intersection(a: Rect, b: Rect) -> int:
    return max(0, min(a.right, b.right) - max(a.x, b.x)) * max(0, min(a.bottom, b.bottom) - max(a.y, b.y))


def _overlap(a: Rect, b: Rect) -> float:
    inter = _intersection(a, b)
    return inter / (a.w * a.h + b.w * b.h - inter)


def _shared_edges(a: Rect, b: Rect, tolerance: float) -> int:
    pairs = ((a.x, b.x), (a.y, b.y), (a.right, b.right), (a.bottom, b.bottom))
    return sum(abs(p - q) <= tolerance for p, q in pairs)


def _area(rect: Rect) -> int:
    return rect.w * rect.h


def _union(a: Rect, b: Rect) -> Rect:
    x, y = min(a.x, b.x), min(a.y, b.y)
    return Rect(x, y, max(a.right, b.right) - x, max(a.bottom, b.bottom) - y)


def _median_rect(rects: list[Rect]) -> Rect:
    return Rect(*(int(np.median([getattr(r, k) for r in rects])) for k in ("x", "y", "w", "h")))


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
