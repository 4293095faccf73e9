"""Feature schema v1: the metamodel's columns, one 10 s segment per row.

The server computes exactly these names and training reads exactly these columns, so this list
is the single place a feature is added. Groups matter because a whole group can be missing
(no chat for a channel, no audio-tagger weights); the model then imputes the group at its mean.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

FEATURE_GROUPS: dict[str, list[str]] = {
    # Chat window is shifted by CHAT_LAG_S: viewers type after they see the moment.
    "chat": ["chat_messages", "chat_users", "chat_emotes", "chat_rate_ratio",
             "chat_positive", "chat_negative", "chat_hype", "chat_copypasta"],
    # audio_peak: max |sample| in 0..1; audio_loudness: integrated loudness in LUFS (BS.1770).
    "audio": ["audio_peak", "audio_loudness"],
    # Mean absolute difference of consecutive downscaled grey frames, 0..1.
    "motion": ["motion_mean", "motion_p95", "scene_cuts", "motion_ratio"],
}

FEATURES: list[str] = [name for names in FEATURE_GROUPS.values() for name in names]


def group_of(feature: str) -> str:
    """Return the group a feature belongs to (`audio_tag:<class>` features are in "audio_tag")."""
    if feature.startswith("audio_tag:"):
        return "audio_tag"
    for group, names in FEATURE_GROUPS.items():
        if feature in names:
            return group
    raise KeyError(f"unknown feature {feature!r}")
