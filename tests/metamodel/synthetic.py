"""A generated training set with a known signal: highlights are where chat spikes."""

from __future__ import annotations

import numpy as np

from metamodel.dataset import write_training_csv
from metamodel.schema import FEATURES


def synthetic_rows(streams: int = 6, per_stream: int = 120, seed: int = 1, signal: float = 2.5,
                   shuffle_labels: bool = False) -> list[dict]:
    """Rows of every schema feature; only `chat_rate_ratio` and `audio_peak` carry the label."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(streams):
        labels = (rng.random(per_stream) < 0.12).astype(int)
        if shuffle_labels:
            labels = rng.permutation(labels)
        for seq in range(per_stream):
            row = {"stream": f"vod{s}", "seq": seq, "start": seq * 10.0, "label": int(labels[seq])}
            row.update({name: float(rng.normal()) for name in FEATURES})
            # A stream-level offset: grouped CV must cope with streams that differ as a whole.
            row["chat_rate_ratio"] = 1.0 + s * 0.2 + signal * labels[seq] + rng.normal()
            row["audio_peak"] = 0.3 + 0.1 * signal * labels[seq] + 0.1 * rng.normal()
            rows.append(row)
    if shuffle_labels:
        # Break the link entirely: labels come from an independent draw.
        flips = rng.permutation([r["label"] for r in rows])
        for row, label in zip(rows, flips):
            row["label"] = int(label)
    return rows


def write_synthetic(path, **kwargs) -> None:
    write_training_csv(path, synthetic_rows(**kwargs))
