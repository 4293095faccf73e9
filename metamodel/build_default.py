"""Rebuild `default_model.json`: the shipped scorer, from stated evidence rather than fitted numbers.

`python -m metamodel.build_default [--out PATH]`

No labelled stream is available to the project, so the shipped model is not fitted: it is a
logistic model over the stream-relative features (`rank:*`, Gaussian ranks against the stream's
last hour, metamodel/ranks.py), whose coefficients follow the evidence in PRIORS below. Because
every input is a Gaussian rank (mean 0, standard deviation 1 by construction), each coefficient
reads directly as "logit per standard deviation of this stream's own variation", and the same
numbers serve a 20-viewer and a 50,000-viewer channel. docs/metamodel.md gives the design and the
evidence; `python -m metamodel quality` measures any model against the single-signal baselines
on labelled streams, and `python -m metamodel train` replaces these priors with fitted numbers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from metamodel.artifact import DEFAULT_MODEL_PATH, Metamodel, save_metamodel
from metamodel.schema import RANK_PREFIX, RANKED
from metamodel.selection import DEFAULT_PER_HOUR

# feature -> (coefficient, why). Features of RANKED not listed here get 0 (see ZERO).
PRIORS: dict[str, tuple[float, str]] = {
    "chat_messages": (
        1.0,
        "the strongest single signal on held-out labelled streams: messages of the reaction window "
        "ranked labelled moments at ROC AUC ~0.81 over many games; chat-volume peaks are the core of "
        "published chat-based highlight detectors (Lightor, Jiang et al. 2020; Fu et al. 2017)",
    ),
    "audio_loudness": (
        0.4,
        "loudness against the stream's own usual: the streamer's or casters' excitement; audio "
        "energy is the classic highlight cue in broadcast sports (Rui, Gupta & Acero 2000) and the "
        "prototype's largest coefficient (sound_loudness +0.76 per SD); below chat, which was measured",
    ),
    "motion_mean": (
        0.2,
        "on-screen action against the stream's usual; the prototype's movement weight (+0.31 per SD) "
        "scaled like loudness; weak evidence, so small",
    ),
}
# Sounds of excitement among the tagger's classes: each a small vote, so that together they can
# move a score about as much as loudness, and none decides alone. The prototype fitted Laughter
# +0.48 but Gunshot -0.56 and Machine gun +0.49 (unstable signs for one sound family: left out).
EXCITEMENT_TAGS = ("Cheering", "Applause", "Laughter", "Screaming", "Shout", "Crowd", "Explosion")
TAG_COEF = 0.1
ZERO = {
    "chat_users": "moves with chat_messages (the same crowd): counting it too would double the volume signal",
    "chat_emotes": "moves with chat_messages; measured on held-out streams, chat features beyond volume added little",
    "chat_positive": "sentiment macro-F1 ~0.6 on crowd labels: too noisy to weigh before training on labelled streams",
    "chat_negative": "as chat_positive",
    "chat_hype": "subs, gifts and bits follow alerts and goals, not moments on screen",
    "chat_copypasta": "spam waves follow moments but also memes and commands; no evidence either way",
    "audio_peak": "one sample's peak: a cruder loudness, already carried by audio_loudness",
    "motion_p95": "moves with motion_mean",
    "scene_cuts": "cuts are editing (replays, camera switches), not action",
}
INTERCEPT = -2.0  # a typical segment (every rank at its median) scores 0.12; chat in its top 2 % alone, 0.5


def build() -> Metamodel:
    """The shipped default model (deterministic: no data read)."""
    assert set(PRIORS) | set(ZERO) == set(RANKED), "every ranked feature needs a prior or a reason for 0"
    names = [RANK_PREFIX + f for f in PRIORS] + [RANK_PREFIX + "audio_tag:" + t for t in EXCITEMENT_TAGS]
    coef = [c for c, _ in PRIORS.values()] + [TAG_COEF] * len(EXCITEMENT_TAGS)
    provenance = {
        "built_by": "python -m metamodel.build_default",
        "method": "not fitted: priors on stream-relative Gaussian-rank features; see docs/metamodel.md",
        "coefficients": {RANK_PREFIX + f: {"coef": c, "why": why} for f, (c, why) in PRIORS.items()},
        "audio_tags": f"{TAG_COEF} per excitement class ({', '.join(EXCITEMENT_TAGS)}); other tags 0",
        "zero": ZERO,
        "scaler": "mean 0, scale 1: Gaussian ranks are standard normal by construction",
        "intercept": "a typical segment scores sigmoid(-2) = 0.12",
        "highlights_per_hour": "about one per 10 minutes; each user sets their own with the sensitivity slider",
    }
    return Metamodel(
        names,
        [0.0] * len(names),
        [1.0] * len(names),
        coef,
        INTERCEPT,
        DEFAULT_PER_HOUR,
        provenance,
        {"note": "not fitted on labels; measure it with python -m metamodel quality"},
    )


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m metamodel.build_default", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH)
    args = parser.parse_args()
    save_metamodel(build(), args.out)
    print(f"wrote {args.out}: {len(build().features)} features, {build().per_hour:g} highlights per hour")


if __name__ == "__main__":
    cli()
