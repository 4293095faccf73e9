"""Turn a selected highlight into a browser-playable mp4 and a jpg thumbnail in storage."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from server import media
from server.ingest import Segment
from server.selection import Highlight
from server.storage import Storage

log = logging.getLogger(__name__)


def export_highlight(highlight: Highlight, segments: dict[int, Segment], storage: Storage,
                     stream_id: int) -> tuple[str, str]:
    """Store the clip and thumbnail of `highlight`; return (clip_url, thumbnail_url).

    Segments already evicted from the ring buffer (a lead-in from long ago) are left out.
    """
    parts = [segments[seq] for seq in range(highlight.first_seq, highlight.last_seq + 1)
             if seq in segments and segments[seq].path.exists()]
    if not parts:
        raise media.MediaError(f"no segments left on disk for highlight {highlight.key}")
    peak = segments.get(highlight.peak_seq, parts[-1])
    with tempfile.TemporaryDirectory(prefix="highlight-") as tmp:
        clip, thumb = Path(tmp) / "clip.mp4", Path(tmp) / "thumb.jpg"
        media.export_clip([p.path for p in parts], clip)
        media.export_thumbnail(peak.path, peak.duration / 2, thumb)
        name = f"{stream_id}/{highlight.key}"
        clip_url = storage.put(clip, name + ".mp4", "video/mp4")
        thumb_url = storage.put(thumb, name + ".jpg", "image/jpeg")
    log.info("stream %s: exported highlight %s (%d segments)", stream_id, highlight.key, len(parts))
    return clip_url, thumb_url
