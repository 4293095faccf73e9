"""Where each part of a landscape clip goes in a vertical (9:16) or square (1:1) frame.

Pure geometry, no I/O: given the source size, the face cam's rectangle (or none) and where the
action is, say which source rectangle is scaled into which rectangle of the output canvas.
`server.render` turns a plan into an ffmpeg filter graph.
"""

from __future__ import annotations

from dataclasses import dataclass

LAYOUTS: dict[str, tuple[int, int]] = {"vertical": (1080, 1920), "square": (1080, 1080)}

# The face cam band's share of the canvas height: small enough that the gameplay stays the
# subject, large enough that a face is still a face on a phone.
MIN_CAM_SHARE, MAX_CAM_SHARE = 0.25, 0.45


@dataclass(frozen=True)
class Rect:
    """A pixel rectangle: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def as_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h}


@dataclass(frozen=True)
class Panel:
    """`crop` of the source, scaled (aspect kept: the crop has the target's shape) into `target`."""

    crop: Rect
    target: Rect


@dataclass(frozen=True)
class Plan:
    """A whole output frame: panels stacked top to bottom, or one panel over a blurred fill."""

    width: int
    height: int
    panels: tuple[Panel, ...]
    blurred_fill: bool  # the canvas behind the panels is the whole source, scaled to cover and blurred


def plan_layout(source_w: int, source_h: int, layout: str, facecam: Rect | None = None, focus_x: float = 0.5) -> Plan:
    """The plan for `layout` ("vertical" or "square").

    With a face cam: the cam on top (cropped to the band's shape around its centre), the gameplay
    below, cropped to the rest of the canvas around `focus_x` (0..1 of the source width: the
    centre, or where the action is). Without one: the whole source, fitted to the canvas width,
    over a blurred fill of itself.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}: choose one of {', '.join(LAYOUTS)}")
    if source_w < 2 or source_h < 2:
        raise ValueError(f"source of {source_w}x{source_h} pixels has no picture")
    width, height = LAYOUTS[layout]
    if facecam is None:
        fitted_h = min(height, _even(width * source_h / source_w))
        target = Rect(0, _even((height - fitted_h) / 2), width, fitted_h)
        return Plan(width, height, (Panel(Rect(0, 0, source_w, source_h), target),), blurred_fill=True)
    cam = _clamp_rect(facecam, source_w, source_h)
    band = _even(min(max(width * cam.h / cam.w, height * MIN_CAM_SHARE), height * MAX_CAM_SHARE))
    top = Panel(_crop_to_aspect(cam, width / band, cam.x + cam.w / 2, source_w), Rect(0, 0, width, band))
    whole = Rect(0, 0, source_w, source_h)
    rest = Rect(0, band, width, height - band)
    bottom = Panel(_crop_to_aspect(whole, rest.w / rest.h, focus_x * source_w, source_w), rest)
    return Plan(width, height, (top, bottom), blurred_fill=False)


def _crop_to_aspect(area: Rect, aspect: float, centre_x: float, source_w: int) -> Rect:
    """The largest rectangle of shape `aspect` (w/h) inside `area`, centred on `centre_x` as far as
    `area` allows (vertically centred)."""
    if area.w / area.h > aspect:  # too wide: keep the height, narrow around centre_x
        w = max(2, min(area.w, round(area.h * aspect)))
        x = round(centre_x - w / 2)
        x = min(max(x, area.x), area.right - w)
        return Rect(x, area.y, w, area.h)
    h = max(2, min(area.h, round(area.w / aspect)))
    return Rect(area.x, area.y + (area.h - h) // 2, area.w, h)


def _clamp_rect(rect: Rect, source_w: int, source_h: int) -> Rect:
    x, y = min(max(rect.x, 0), source_w - 2), min(max(rect.y, 0), source_h - 2)
    return Rect(x, y, max(2, min(rect.w, source_w - x)), max(2, min(rect.h, source_h - y)))


def _even(value: float) -> int:
    # H.264 in yuv420p needs even dimensions.
    return max(2, int(round(value / 2)) * 2)
