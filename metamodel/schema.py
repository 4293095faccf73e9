"""Feature schema v2: the metamodel's columns, one 10 s segment per row.

The server computes exactly these names and training reads exactly these columns, so this list
is the single place a feature is added. Groups matter because a whole group can be missing
(no chat for a channel, no audio-tagger weights); the model then imputes the group at its mean.

v2 (2026-12): chat features count the reaction window (CHAT_LAG_S to CHAT_LAG_S + CHAT_WINDOW_S
after the segment starts, was the segment shifted by 4 s), and every raw feature has a
stream-relative twin `rank:<feature>` (metamodel/ranks.py) that the shipped model scores.
"""

from __future__ import annotations

SCHEMA_VERSION = 2

# Viewers see a moment 2-15 s after it happens (Twitch's player latency, low-latency mode to
# standard) and then read and type: their reaction arrives over the next tens of seconds. On
# held-out labelled streams, messages counted from 4 to 24 s after a segment's start ranked
# labelled moments better (ROC AUC ~0.81 over many games) than the segment's own 10 s shifted
# by 4 s (0.77). docs/metamodel.md has the evidence.
CHAT_LAG_S = 4.0
CHAT_WINDOW_S = 20.0

FEATURE_GROUPS: dict[str, list[str]] = {
    # Counted in the reaction window (above): viewers type after they see the moment.
    "chat": [
        "chat_messages",
        "chat_users",
        "chat_emotes",
        "chat_rate_ratio",
        "chat_positive",
        "chat_negative",
        "chat_hype",
        "chat_copypasta",
    ],
    # audio_peak: max |sample| in 0..1; audio_loudness: integrated loudness in LUFS (BS.1770).
    "audio": ["audio_peak", "audio_loudness"],
    # Mean absolute difference of consecutive downscaled grey frames, 0..1.
    "motion": ["motion_mean", "motion_p95", "scene_cuts", "motion_ratio"],
}

# Raw features that get a stream-relative twin `rank:<name>` (the ratios already are relative).
RANKED: list[str] = [
    name for names in FEATURE_GROUPS.values() for name in names if name not in ("chat_rate_ratio", "motion_ratio")
]
RANK_PREFIX = "rank:"

FEATURES: list[str] = [name for names in FEATURE_GROUPS.values() for name in names] + [
    RANK_PREFIX + name for name in RANKED
]


def group_of(feature: str) -> str:
    """Return the group a feature belongs to (`audio_tag:<class>` features are in "audio_tag")."""
    if feature.startswith(RANK_PREFIX):
        return group_of(feature[len(RANK_PREFIX) :])
    if feature.startswith("audio_tag:"):
        return "audio_tag"
    for group, names in FEATURE_GROUPS.items():
        if feature in names:
            return group
    raise KeyError(f"unknown feature {feature!r}")
