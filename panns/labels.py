"""The 527 AudioSet class names in the order of the PANNs output layer.

`class_labels_indices.csv` is the AudioSet ontology's label list (index, mid, display_name), as
shipped in the epanns wheel (MIT) and published by Google with AudioSet (CC BY 4.0);
copied from the team's ../shared/data/audioset/ (sha256 cdd10498...8429).
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

LABELS_CSV = Path(__file__).with_name("class_labels_indices.csv")
N_CLASSES = 527


@functools.lru_cache(maxsize=1)
def labels() -> tuple[str, ...]:
    """Display names, index i = output i of the network."""
    with LABELS_CSV.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    names = tuple(row["display_name"] for row in rows)
    if len(names) != N_CLASSES or [int(r["index"]) for r in rows] != list(range(N_CLASSES)):
        raise RuntimeError(f"{LABELS_CSV} is damaged: expected indices 0..{N_CLASSES - 1}")
    return names


def index_of(name: str) -> int:
    """The output index of an AudioSet display name (exact, e.g. "Gunshot, gunfire")."""
    try:
        return labels().index(name)
    except ValueError:
        raise KeyError(f"{name!r} is not an AudioSet display name (see {LABELS_CSV.name})") from None
