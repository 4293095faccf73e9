"""Turn a selected highlight into a browser-playable mp4 and a jpg thumbnail."""

from __future__ import annotations

import logging
from pathlib import Path

from metamodel.selection import Highlight
from server import media
from server.ingest import Segment

log = logging.getLogger(__name__)


def render_highlight(highlight: Highlight, segments: dict[int, Segment], folder: Path) -> tuple[Path, Path]:
    """Write the clip (`clip.mp4`) and thumbnail (`thumb.jpg`) of `highlight` into `folder`.

    Segments already evicted from the ring buffer (a lead-in from long ago) are left out.
    """
    parts = [
        segments[seq]
        for seq in range(highlight.first_seq, highlight.last_seq + 1)
        if seq in segments and segments[seq].path.exists()
    ]
    if not parts:
        raise media.MediaError(f"no segments left on disk for highlight {highlight.key}")
    peak = segments.get(highlight.peak_seq, parts[-1])
    clip, thumb = Path(folder) / "clip.mp4", Path(folder) / "thumb.jpg"
    media.export_clip([p.path for p in parts], clip)
    media.export_thumbnail(peak.path, peak.duration / 2, thumb)
    log.info("exported highlight %s (%d segments)", highlight.key, len(parts))
    return clip, thumb
