"""Turn a selected highlight into a browser-playable mp4 and a jpg thumbnail."""

from __future__ import annotations

import logging
from pathlib import Path

from metamodel.selection import Highlight
from server import media
from server.ingest import ExportRing, Piece, Segment

log = logging.getLogger(__name__)


def render_highlight(
    highlight: Highlight, segments: dict[int, Segment], folder: Path, export: ExportRing | None = None
) -> tuple[Path, Path]:
    """Write the clip (`clip.mp4`) and thumbnail (`thumb.jpg`) of `highlight` into `folder`.

    The clip is cut from the best rendition (`export`) where the ring holds the whole moment,
    found by source timestamp; else from the scored segments themselves (a channel with one
    rendition, or the export rendition failed). Segments already evicted from the ring buffer
    (a lead-in from long ago) are left out.
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
    pieces = _export_pieces(parts, export)
    if pieces is not None:
        media.export_clip([p.path for p in pieces], clip)
        # The piece that starts nearest the peak's middle, at its first frame: a keyframe, so one
        # 1080p60 frame is decoded, not the up to 120 before a mid-piece moment (~0.3 CPU-s, paid
        # by every stream whose highlight lands in the same second).
        middle = (peak.pts or 0.0) + peak.duration / 2
        at = min(pieces, key=lambda p: abs(p.pts - middle))
        media.export_thumbnail(at.path, 0.0, thumb)
        log.info("exported highlight %s (%d pieces of the export rendition)", highlight.key, len(pieces))
    else:
        media.export_clip([p.path for p in parts], clip)
        media.export_thumbnail(peak.path, peak.duration / 2, thumb)
        log.info("exported highlight %s (%d segments)", highlight.key, len(parts))
    return clip, thumb


def _export_pieces(parts: list[Segment], export: ExportRing | None) -> list[Piece] | None:
    if export is None or parts[0].pts is None or parts[-1].pts is None:
        return None
    start, end = parts[0].pts, parts[-1].pts + parts[-1].duration
    pieces = export.covering(start, end)
    if pieces is None and export.active:
        log.warning("export rendition lacks %.1f-%.1f s: the clip is cut from the analysed one", start, end)
    return pieces
