"""A LiveSegmenter run on a thread, as a job's ingest loop runs it, for tests that watch segments arrive."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from server.ingest import LiveSegmenter, Segment


@contextmanager
def ingesting(segmenter: LiveSegmenter) -> Iterator[list[Segment]]:
    """Run `segmenter` from seq 0; yields the list its segments are appended to as they close,
    and stops it (waiting for its ffmpeg to exit) on leaving."""
    segments: list[Segment] = []
    stop = threading.Event()
    thread = threading.Thread(target=segmenter.run, args=(stop, 0, 0.0, segments.append), daemon=True)
    thread.start()
    try:
        yield segments
    finally:
        stop.set()
        thread.join(20)
