"""A generated training set with a known signal: highlights are where chat and loudness rise.

Each stream has its own scale (a busier, louder channel than the one before), so a raw count
means different things on different streams while the stream-relative ranks mean the same: the
rank:* columns are computed the way the server computes them (metamodel.ranks.StreamRanks per
stream, segments in order).
"""

from __future__ import annotations

import numpy as np

from metamodel.dataset import ID_COLUMNS, write_training_csv
from metamodel.ranks import StreamRanks
from metamodel.schema import FEATURE_GROUPS, RANK_PREFIX, RANKED

RAW = [name for names in FEATURE_GROUPS.values() for name in names]


def planted_labels(rng: np.random.Generator, n: int) -> np.ndarray:
    """Positive moments of 1-3 consecutive segments, one starting about every two minutes."""
    labels = np.zeros(n, dtype=int)
    seq = 0
    while seq < n:
        if rng.random() < 1 / 12:
            length = int(rng.integers(1, 4))
            labels[seq : seq + length] = 1
            seq += length + 1
        else:
            seq += 1
    return labels


def synthetic_rows(
    streams: int = 6, per_stream: int = 360, seed: int = 1, signal: float = 2.5, shuffle_labels: bool = False
) -> list[dict]:
    """Rows of every raw schema feature and its rank; only `chat_messages` and `audio_loudness`
    (raw and ranked) carry the label, about `signal` standard deviations apart."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(streams):
        labels = planted_labels(rng, per_stream)
        busy, loud = 10.0 * (s + 1), -32.0 + 3.0 * s  # the stream's own usual
        for seq in range(per_stream):
            label = int(labels[seq])
            row = {"stream": f"vod{s}", "seq": seq, "start": seq * 10.0, "label": label}
            row.update({name: float(rng.normal()) for name in RAW})
            row["chat_messages"] = float(max(0, round(busy * (1 + 0.25 * (signal * label + rng.normal())))))
            row["audio_loudness"] = loud + 2.0 * (0.8 * signal * label + rng.normal())
            rows.append(row)
    if shuffle_labels:
        # Break the link entirely: labels drawn independently of the features.
        for row, label in zip(rows, rng.permutation([r["label"] for r in rows]), strict=True):
            row["label"] = int(label)
    return add_ranks(rows)


def add_ranks(rows: list[dict]) -> list[dict]:
    """(Re)compute every rank:* column from the raw ones, per stream in segment order, as the server does."""
    ranks: dict[str, StreamRanks] = {}
    for row in sorted(rows, key=lambda r: (r["stream"], r["seq"])):
        raw = {k: v for k, v in row.items() if k not in ID_COLUMNS and not k.startswith(RANK_PREFIX)}
        row.update(ranks.setdefault(row["stream"], StreamRanks(RANKED)).rank(raw))
    return rows


def write_synthetic(path, **kwargs) -> None:
    write_training_csv(path, synthetic_rows(**kwargs))
