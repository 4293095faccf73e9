"""Rebuild `default_model.json` from the original prototype's model and real material.

`python -m metamodel.build_default [--shared ../shared/data]`

The prototype's logistic regression (seed-metamodel.json) was fit on standardised features, so
its coefficients are "logit per standard deviation". Our features measure the same things in
other units, so we carry the coefficients over by meaning (MAPPING below) and measure each
feature's mean and standard deviation ourselves on real material: the two real Twitch clips
played in a loop against the real #xqcow chat log, exactly as the demo channel plays them.
The threshold is set so that THRESHOLD_SHARE of those segments score above it.
"""

from __future__ import annotations

import argparse
import json
from itertools import cycle
from pathlib import Path

import numpy as np

from metamodel.artifact import DEFAULT_MODEL_PATH, Metamodel
from metamodel.schema import FEATURES

# our feature -> (seed features whose coefficients it takes, share of their summed coefficient, why)
MAPPING: dict[str, tuple[list[str], float, str]] = {
    "chat_messages": (["message_counts"], 1.0, "same count per 10 s window"),
    "chat_users": ([], 0.0, "no counterpart in the prototype; left to training"),
    "chat_emotes": ([], 0.0, "no counterpart once chat_positive/chat_negative carry the prototype's sentiment "
                    "counts (emotes are most of what they classify); left to training"),
    "chat_rate_ratio": (["message_counts"], 1.0, "the same message count, normalised by the stream's own median"),
    "chat_positive": (["positive_message_count"], 1.0, "positive messages per 10 s (ours: in units of the stream's usual message count)"),
    "chat_negative": (["negative_message_count"], 1.0, "negative messages per 10 s (ours: in units of the stream's usual message count)"),
    "chat_hype": ([], 0.0, "subs, gifts, raids, bits: no counterpart in the prototype; left to training"),
    "chat_copypasta": ([], 0.0, "share of messages repeating the top message: no counterpart; left to training"),
    "audio_peak": (["sound_loudness"], 0.5, "the prototype's one loudness feature (max amplitude of snippets), split over our two loudness measures"),
    "audio_loudness": (["sound_loudness"], 0.5, "see audio_peak"),
    "motion_mean": (["movement_amount"], 0.5, "the prototype's one movement feature (optical flow), split over our two amount-of-motion measures"),
    "motion_ratio": (["movement_amount"], 0.5, "see motion_mean"),
    "motion_p95": ([], 0.0, "no counterpart; left to training"),
    "scene_cuts": ([], 0.0, "no counterpart; left to training"),
}
THRESHOLD_SHARE = 0.10  # about one segment in ten above threshold: a few clips per 10 minutes

# audio_tag:<class> features (server/features/audio_tags.py). The prototype's 16 PANNs features
# were Cnn14 clipwise probabilities *summed* over the 3 s snippets its sound loop took in a 10 s
# window (extract a snippet, load the model, tag, sleep 1 s: roughly one snippet every 4 s). Ours
# is one probability for the whole 10 s segment, about the per-snippet value, so we take the
# seed's coefficient unchanged (logit per standard deviation) and divide its scaler mean and
# std by the snippets per window. Without weights here, this conversion cannot be measured.
SNIPPETS_PER_WINDOW = 2.5  # estimate: 10 s window / ~4 s per loop iteration of the prototype
# Classes the prototype did not have: coefficient 0 (left to training); their scaler is taken from
# the seed class of the most similar kind and rarity, so a trained model starts from sane units.
AUDIO_TAG_SCALER_ANALOGUE = {"Cheering": "Laughter", "Applause": "Laughter", "Screaming": "Laughter",
                             "Shout": "Laughter", "Crowd": "Laughter", "Explosion": "Boom"}


def audio_tag_columns(seed: dict) -> tuple[list[str], list[float], list[float], list[float], dict]:
    """(names, means, scales, coefficients, provenance) of the audio_tag:* columns, from the seed."""
    from server.features.audio_tags import DEFAULT_CLASSES, PREFIX

    stats = {name: (m, s, c) for name, m, s, c in zip(seed["features"], seed["scaler_mean"], seed["scaler_scale"], seed["coef"])}
    names, means, scales, coefs, why = [], [], [], [], {}
    for cls in DEFAULT_CLASSES:
        source = cls if cls in stats else AUDIO_TAG_SCALER_ANALOGUE[cls]
        mean, scale, coef = stats[source]
        names.append(PREFIX + cls)
        means.append(mean / SNIPPETS_PER_WINDOW)
        scales.append(scale / SNIPPETS_PER_WINDOW)
        coefs.append(coef if cls in stats else 0.0)
        why[PREFIX + cls] = ({"from": [cls], "share": 1.0, "why": "the prototype's Cnn14 probability of this class"}
                             if cls in stats else {"from": [], "share": 0.0, "why": f"no counterpart; left to training "
                                                   f"(scaler from {source!r})"})
    return names, means, scales, coefs, why


def demo_rows(shared: Path) -> list[dict[str, float]]:
    """Features of the demo channel's first pass over the real chat log (clips looping)."""
    from server.analyze import windows
    from server.chat.logs import read_chat_file
    from server.features import SegmentFeaturizer
    from server import media

    clips = [shared / "video" / "seed-lobby.mp4", shared / "video" / "seed-gameplay.mp4"]
    spans = [(clip, start, end - start) for clip in clips for _, start, end in windows(media.duration_of(clip))]
    chat_log = read_chat_file(shared / "twitch-chat" / "xqcow-2019-09-15.irc.gz")
    messages, events = chat_log.messages, chat_log.events
    t0, t_end = messages[0].ts, messages[-1].ts
    featurizer = SegmentFeaturizer()
    rows = []
    for i, (clip, start, length) in zip(range(int((t_end - t0) // 10)), cycle(spans)):
        lo = t0 + i * 10.0
        chat = [m for m in messages if lo <= m.ts < lo + 10.0]
        hype = [e for e in events if lo <= e.ts < lo + 10.0]
        rows.append(featurizer.featurize(clip, chat, start, length, events=hype))
    return rows


def build(shared: Path) -> Metamodel:
    seed = json.loads((shared / "metamodel" / "seed-metamodel.json").read_text())
    seed_coef = dict(zip(seed["features"], seed["coef"]))
    rows = demo_rows(shared)
    matrix = np.array([[row[name] for name in FEATURES] for row in rows], dtype=float)
    mean, std = matrix.mean(axis=0), matrix.std(axis=0)
    coef = [MAPPING[name][1] * sum(seed_coef[s] for s in MAPPING[name][0]) for name in FEATURES]
    draft = Metamodel(FEATURES, mean.tolist(), np.where(std > 0, std, 1.0).tolist(), coef, seed["intercept"], 0.5)
    scores = np.array([draft.score(dict(zip(FEATURES, row))) for row in matrix])
    threshold = float(np.quantile(scores, 1 - THRESHOLD_SHARE))
    provenance = {
        "built_by": "python -m metamodel.build_default",
        "seed": seed["source"] + ", seed-metamodel.json",
        "coefficients": {name: {"from": MAPPING[name][0], "share": MAPPING[name][1], "why": MAPPING[name][2]} for name in FEATURES},
        "intercept": "the prototype's, unchanged",
        "scaler": f"mean and std of each feature over {len(rows)} 10 s segments of the demo channel "
                  "(seed-lobby.mp4 and seed-gameplay.mp4 looping, xqcow-2019-09-15 chat)",
        "threshold": f"{1 - THRESHOLD_SHARE:.0%} quantile of the scores of those segments",
    }
    # Tags are missing on the demo rows (no weights here), so they do not move the threshold.
    tag_names, tag_mean, tag_scale, tag_coef, tag_why = audio_tag_columns(seed)
    provenance["coefficients"].update(tag_why)
    provenance["audio_tag_scaler"] = (f"the prototype's scaler of the same class divided by {SNIPPETS_PER_WINDOW} "
                                      "snippets per window (it summed per-snippet probabilities); not measured")
    return Metamodel(FEATURES + tag_names, draft.mean + tag_mean, draft.scale + tag_scale, coef + tag_coef,
                     draft.intercept, round(threshold, 6), provenance, {"note": "not trained on labels; see docs/metamodel.md"})


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m metamodel.build_default", description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"), help="the team's shared data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH)
    args = parser.parse_args()
    model = build(args.shared)
    args.out.write_text(json.dumps(model.to_dict(), indent=1) + "\n")
    print(f"wrote {args.out}: threshold {model.threshold:.3f}")


if __name__ == "__main__":
    cli()
