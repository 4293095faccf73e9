"""Which renditions of a live stream to read: the smallest for analysis, the best for the clips.

A Twitch channel offers a ladder (160p30 ... 1080p60) of the same broadcast, cut on the same
segment boundaries with the same timestamps. The scorer looks at 160x90 grey frames and the
audio, which is the same in every rendition, so decoding the 1080p60 one costs ~3 CPU-s per
10 s for nothing (docs/benchmarks.md): analyse the smallest rendition that still has the pixels
motion needs, and keep the best one untouched (stream copy) for the exported clips.

Pure: it reads what streamlink parsed from the multi-variant playlist, opens nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.media import MOTION_SIZE

# streamlink's aliases for other entries, not renditions of their own.
_SYNONYMS = {"best", "worst", "best-unfiltered", "worst-unfiltered"}
_NAME_RE = re.compile(r"^(?P<height>\d+)p(?P<fps>\d+)?")  # "720p60", "160p", "1080p60_alt"


@dataclass(frozen=True)
class Rendition:
    name: str  # streamlink's name: "160p", "1080p60"
    height: int  # pixels
    fps: int  # as announced, else 30
    bandwidth: int  # bits per second announced in the playlist, else 0
    stream: Any = None  # the streamlink stream to open


def renditions_of(streams: Mapping[str, Any]) -> list[Rendition]:
    """The video renditions among streamlink's `streams`, with the size the playlist announces.

    The resolution comes from the multi-variant playlist's RESOLUTION attribute where there is one
    (a name can be anything a plugin chose), else from a Twitch-style name ("720p60"). An entry
    with neither, such as "audio_only" or a plain media playlist's "live", is not a video rendition.
    """
    found = []
    for name, stream in streams.items():
        if name in _SYNONYMS:
            continue
        height, fps, bandwidth = _announced(stream)
        named = _NAME_RE.match(name)
        if height is None and named:
            height = int(named["height"])
        if fps is None:
            fps = int(named["fps"]) if named and named["fps"] else 30
        if height is not None:
            found.append(Rendition(name, height, fps, bandwidth or 0, stream))
    return found


def choose(renditions: list[Rendition]) -> tuple[Rendition, Rendition | None] | None:
    """(analysed, exported) of `renditions`; exported is None when it would be the same one.

    Analysed: the smallest rendition at least as tall as the motion frames (MOTION_SIZE), else
    the tallest there is. Exported: the tallest, then the highest frame rate, then the most bits.
    None when there is nothing to choose from (the caller reads streamlink's "best").
    """
    if not renditions:
        return None
    best = max(renditions, key=lambda r: (r.height, r.fps, r.bandwidth))
    tall_enough = [r for r in renditions if r.height >= MOTION_SIZE[1]]
    analysed = min(tall_enough, key=lambda r: (r.height, r.fps, r.bandwidth)) if tall_enough else best
    return analysed, (None if analysed.name == best.name else best)


def _announced(stream: Any) -> tuple[int | None, int | None, int | None]:
    """(height, fps, bandwidth) the multi-variant playlist gives for `stream`'s URL, if any."""
    multivariant = getattr(stream, "multivariant", None)
    url = getattr(stream, "url", None)
    for playlist in getattr(multivariant, "playlists", None) or ():
        if playlist.uri != url:
            continue
        info = playlist.stream_info
        resolution = getattr(info, "resolution", None)
        height = getattr(resolution, "height", None)
        frame_rate = getattr(info, "framerate", None)
        fps = round(float(frame_rate)) if frame_rate else None
        return height, fps, getattr(info, "bandwidth", None)
    return None, None, None
