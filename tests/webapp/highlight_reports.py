"""Highlight reports as the processing server posts them to the ingest API (docs/contract.md)."""

from __future__ import annotations

from typing import Any


def highlight_doc(n: int, prefix: str = "7", **extra: Any) -> dict[str, Any]:
    """The n-th highlight of a stream: key "<prefix>-000n", n minutes into it, 30 s long."""
    return {
        "key": f"{prefix}-{n:04d}",
        "start_utc": "2026-11-30T07:01:00Z",
        "end_utc": "2026-11-30T07:01:30Z",
        "start_offset_s": 60.0 * n,
        "end_offset_s": 60.0 * n + 30,
        "score": 0.81,
        "clip_url": f"http://127.0.0.1:5000/media/{prefix}/{n}.mp4",
        "thumbnail_url": f"http://127.0.0.1:5000/media/{prefix}/{n}.jpg",
        "reasons": [{"feature": "chat_rate_ratio", "value": 4.2, "text": "chat 4.2x its usual rate"}],
        **extra,
    }
