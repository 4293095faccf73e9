"""Motion features of one segment from downscaled grey frames (OpenCV frame differencing)."""

from __future__ import annotations

import cv2
import numpy as np

# A consecutive-frame pair whose grey histograms correlate less than this is a hard cut, not motion.
SCENE_CUT_CORRELATION = 0.5


def motion_features(frames: np.ndarray) -> dict[str, float]:
    """Return `motion_mean`, `motion_p95` (0..1) and `scene_cuts` for frames (n, height, width) uint8."""
    if len(frames) < 2:
        return {"motion_mean": 0.0, "motion_p95": 0.0, "scene_cuts": 0.0}
    diffs = np.empty(len(frames) - 1, dtype=np.float64)
    cuts = 0
    previous_hist = _hist(frames[0])
    for i in range(1, len(frames)):
        diffs[i - 1] = cv2.absdiff(frames[i], frames[i - 1]).mean() / 255.0
        hist = _hist(frames[i])
        if cv2.compareHist(previous_hist, hist, cv2.HISTCMP_CORREL) < SCENE_CUT_CORRELATION:
            cuts += 1
        previous_hist = hist
    return {
        "motion_mean": float(diffs.mean()),
        "motion_p95": float(np.percentile(diffs, 95)),
        "scene_cuts": float(cuts),
    }


def _hist(frame: np.ndarray) -> np.ndarray:
    hist = cv2.calcHist([frame], [0], None, [32], [0, 256])
    return cv2.normalize(hist, hist).flatten()
