"""Compute an expensive feature only where it can still change what gets picked.

The audio tagger costs more CPU than everything else a segment needs (~0.9 CPU-s per 10 s for
Cnn14, docs/audio-tagging.md). Its features are bounded: a rank against the stream's hour lies
within +-RANK_BOUND, a probability within [0, 1]. So from the cheap features alone the best score
a segment could reach with any tags is known before tagging it; when even that stays under the
bar the selector will hold the segment to (metamodel/selection.py), tagging cannot make it a
highlight, and it is skipped. Nothing a user sees as a highlight is lost to the saving; only the
scores of segments that were never going to be picked are computed without their tags.

One segment in REFERENCE_EVERY is tagged whatever its cheap features say, and only those feed
the history the tags are ranked against (metamodel/ranks.py): ranked among candidates alone,
a candidate's tags would read low (the candidates are the loud, busy segments), and picks
drifted (bench/cascade.py: 3.5 % fewer highlights on simulated moments; with the reference
sample as many as tagging everything, at 21 % of the tagger's work).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from metamodel.artifact import Metamodel
from metamodel.ranks import RANK_BOUND, base_of
from metamodel.schema import RANK_PREFIX

REFERENCE_EVERY = 10  # segments: one tagged regardless in each 100 s, a fair sample for the ranks


def is_tag(feature: str) -> bool:
    """An audio tag feature, raw or ranked: what the cascade holds back."""
    return base_of(feature).startswith("audio_tag:")


def bounds_of(feature: str, rank_bound: float = RANK_BOUND) -> tuple[float, float] | None:
    """The range a feature's value can take, where it is known: ranks (within +-`rank_bound`,
    which a short history makes tighter, metamodel/ranks.py) and probabilities."""
    if feature.startswith(RANK_PREFIX):
        return -rank_bound, rank_bound
    if base_of(feature).startswith("audio_tag:"):
        return 0.0, 1.0
    return None


def best_case(
    model: Metamodel,
    values: Mapping[str, float | None],
    pending: Callable[[str], bool],
    rank_bound: Callable[[str], float] = lambda feature: RANK_BOUND,
) -> float:
    """The highest score `values` can reach once the features that `pending` names are known;
    `rank_bound(base feature)`: how far its rank can reach now (`StreamRanks.bound`).

    A pending feature contributes its best term over its range, or 0 (imputed, if it stays
    missing); one without a known range makes the best case 1.0 (anything is possible).
    """
    logit = model.intercept
    terms = model.contributions(values)
    for name, mean, scale, coef in zip(model.features, model.mean, model.scale, model.coef, strict=True):
        if not pending(name):
            logit += terms[name]
            continue
        bounds = bounds_of(name, rank_bound(base_of(name)))
        if bounds is None:
            return 1.0
        logit += max(0.0, *(coef * (bound - mean) / scale for bound in bounds))
    return 1 / (1 + math.exp(-logit)) if logit > -700 else 0.0


def worth_computing(
    model: Metamodel,
    values: Mapping[str, float | None],
    pending: Callable[[str], bool],
    bar: float | None,
    rank_bound: Callable[[str], float] = lambda feature: RANK_BOUND,
) -> bool:
    """True unless even the best case of the pending features stays under `bar` (None: no bar
    yet, the stream is warming up: compute)."""
    return bar is None or best_case(model, values, pending, rank_bound) >= bar
