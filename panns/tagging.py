"""Run a loaded network on clips of samples: pure tensor work, no files."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from panns.labels import labels
from panns.model import PannsTagger


def tag(model: PannsTagger, clips: Sequence[np.ndarray]) -> np.ndarray:
    """Probabilities (len(clips), 527) for 32 kHz mono float clips, in one forward pass.

    Clips of different lengths are zero-padded at the end to the longest (the network's max +
    mean pooling over time then sees some silence; the server's 10 s segments are all alike).
    """
    if not clips:
        return np.zeros((0, model.dims.n_classes), dtype=np.float32)
    longest = max(len(c) for c in clips)
    if longest == 0:
        raise ValueError("every clip is empty")
    batch = np.zeros((len(clips), longest), dtype=np.float32)
    for row, clip in zip(batch, clips, strict=True):
        row[: len(clip)] = clip
    with torch.inference_mode():
        return model(torch.from_numpy(batch)).numpy()


def top_labels(probabilities: np.ndarray, n: int = 10) -> list[dict]:
    """The n most probable classes of one clip: [{"index", "label", "probability"}], highest first."""
    order = np.argsort(-probabilities, kind="stable")[:n]
    names = labels()
    return [{"index": int(i), "label": names[i], "probability": float(probabilities[i])} for i in order]
