"""What the audio-tag cascade saves and what it costs in highlights, on long simulated streams.

    .venv/bin/python -m bench.cascade [--hours 4] [--streams 20] [--per-hour 6]

The tagger's real outputs cannot be had here (no official weights), so the stream is simulated:
chat counts with bursts (Poisson around a drifting rate, a burst of 3-8x every few minutes),
loudness and motion that rise with the bursts, and tag probabilities that do too, plus noise.
Each segment goes through the featurizer's own steps (ranks of the cheap features, the gate of
metamodel/cascade.py against the selector's next bar, tags and their ranks) and the shipped
model, twice: tagging every segment, and tagging only what the cascade lets through. Reported:
the share of segments tagged (the tagger's CPU scales with it) and how many of the highlights
picked with every segment tagged are picked with the cascade too (the same peak segment), and how
many picks of each run fall on a simulated moment (the simulation's ground truth).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

import numpy as np

from metamodel import load_metamodel
from metamodel.cascade import REFERENCE_EVERY, is_tag, worth_computing
from metamodel.ranks import StreamRanks, base_of
from metamodel.schema import RANK_PREFIX
from metamodel.selection import HighlightSelector

SEGMENTS_PER_HOUR = 360
TAGS = ("Cheering", "Applause", "Laughter", "Screaming", "Shout", "Crowd", "Explosion", "Speech", "Music")


def simulated_stream(hours: float, seed: int) -> tuple[list[tuple[dict[str, float], dict[str, float]]], np.ndarray]:
    """(cheap raw features, tag probabilities) per 10 s segment of a simulated stream, and the
    moment (an id > 0) each segment belongs to, 0 for none: the simulation's ground truth."""
    rng = np.random.default_rng(seed)
    n = int(hours * SEGMENTS_PER_HOUR)
    rate = 20 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))  # messages per window, drifting
    excitement, moment = np.zeros(n), np.zeros(n, dtype=int)
    for number, start in enumerate(np.flatnonzero(rng.random(n) < 1 / 30), 1):  # one every ~5 minutes
        length = rng.integers(1, 4)
        excitement[start : start + length] = rng.uniform(1, 3)
        moment[start : start + length] = number
    segments = []
    for i in range(n):
        e = excitement[i]
        cheap = {
            "chat_messages": float(rng.poisson(rate[i] * (1 + 2 * e))),
            "audio_loudness": float(-30 + 4 * e + rng.normal(0, 3)),
            "motion_mean": float(max(0.0, 0.05 + 0.03 * e + rng.normal(0, 0.02))),
        }
        tags = {f"audio_tag:{t}": float(np.clip(rng.beta(1, 8) + 0.15 * e * rng.random(), 0, 1)) for t in TAGS}
        segments.append((cheap, tags))
    return segments, moment


def run(segments, per_hour: float, gate: bool, every: int = REFERENCE_EVERY) -> tuple[list[int], int]:
    """(peak seqs of the highlights picked, segments tagged), as a live job would go."""
    model = load_metamodel()
    ranks = StreamRanks([base_of(f) for f in model.features if f.startswith(RANK_PREFIX) and not is_tag(f)])
    selector = HighlightSelector(per_hour)
    peaks, tagged = [], 0
    for seq, (cheap, tags) in enumerate(segments):
        values: dict[str, float | None] = dict(cheap)
        values.update(ranks.rank(values))
        reference = not gate or seq % every == 0
        # The featurizer's steps (server/features/__init__.py), with the tagger's outputs given.
        if reference or worth_computing(model, values, is_tag, selector.bar_for(seq), ranks.bound):
            tagged += 1
            values.update(tags)
            values.update(ranks.rank(tags, remember=reference))
        highlight = selector.push(seq, model.score(values))
        if highlight:
            peaks.append(highlight.peak_seq)
    last = selector.flush()
    return peaks + ([last.peak_seq] if last else []), tagged


FIELDS = ("segments", "tagged", "highlights", "kept", "gated", "true_full", "true_gated", "moments")


def compare(hours: float, seed: int, per_hour: float) -> Mapping[str, float]:
    """Counts for one stream: FIELDS (true_*: picks whose peak is in a simulated moment)."""
    segments, moment = simulated_stream(hours, seed)
    full, _ = run(segments, per_hour, gate=False)
    gated, tagged = run(segments, per_hour, gate=True)
    return {
        "segments": len(segments),
        "tagged": tagged,
        "highlights": len(full),
        "kept": len(set(full) & set(gated)),
        "gated": len(gated),
        "true_full": sum(moment[p] > 0 for p in full),
        "true_gated": sum(moment[p] > 0 for p in gated),
        "moments": int(moment.max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--per-hour", type=float, default=6.0)
    args = parser.parse_args()
    totals = dict.fromkeys(FIELDS, 0.0)
    for seed in range(args.streams):
        result = compare(args.hours, seed, args.per_hour)
        for key in totals:
            totals[key] += result[key]
        print(f"stream {seed}: {dict(result)}", flush=True)
    print(
        f"\n{args.streams} simulated streams of {args.hours:g} h at {args.per_hour:g}/h: "
        f"tagged {totals['tagged'] / totals['segments']:.1%} of segments; "
        f"{totals['kept']:.0f} of {totals['highlights']:.0f} highlights kept "
        f"({totals['kept'] / max(totals['highlights'], 1):.1%}), {totals['gated']:.0f} picked with the cascade; "
        f"on a simulated moment: {totals['true_full']:.0f} of {totals['highlights']:.0f} tagging everything, "
        f"{totals['true_gated']:.0f} of {totals['gated']:.0f} with the cascade ({totals['moments']:.0f} moments)"
    )


if __name__ == "__main__":
    main()
