"""Audio features of one segment: peak amplitude and integrated loudness (ITU-R BS.1770)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torchaudio.functional as AF

SILENCE_LUFS = -70.0  # BS.1770's absolute gate: anything quieter counts as silence
MIN_LOUDNESS_SAMPLES = 19200  # 400 ms at 48 kHz, one BS.1770 gating block


def audio_features(samples: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Return `audio_peak` (max |sample|, 0..1) and `audio_loudness` (LUFS) of mono samples."""
    if samples.size == 0:
        return {"audio_peak": 0.0, "audio_loudness": SILENCE_LUFS}
    peak = float(np.max(np.abs(samples)))
    loudness = SILENCE_LUFS
    if samples.size >= MIN_LOUDNESS_SAMPLES:
        with torch.inference_mode():
            value = float(AF.loudness(torch.from_numpy(np.array(samples, dtype=np.float32))[None, :], sample_rate))
        if math.isfinite(value):
            loudness = max(value, SILENCE_LUFS)
    return {"audio_peak": min(peak, 1.0), "audio_loudness": loudness}
