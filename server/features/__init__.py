"""Per-segment features: audio, motion and chat, with the stream's rolling baselines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from server import media
from server.features.audio import audio_features
from server.features.baseline import RollingBaseline
from server.features.chat import chat_features
from server.features.motion import motion_features

BASELINE_SEGMENTS = 30  # 5 minutes of 10 s segments: long enough to be "usual", short enough to follow a stream


@dataclass
class SegmentFeaturizer:
    """Turns one stream's segments, in order, into feature dicts (schema v1 names).

    Stateful only through the rolling baselines, so one instance per stream.
    """

    chat_baseline: RollingBaseline = field(default_factory=lambda: RollingBaseline(BASELINE_SEGMENTS, floor=1.0))
    motion_baseline: RollingBaseline = field(default_factory=lambda: RollingBaseline(BASELINE_SEGMENTS, floor=0.002))
    # (samples, rate, the other features) -> audio_tag:* features; None: no tagger (see audio_tags.py).
    audio_tags: Callable[..., dict] | None = None

    def featurize(self, path: Path, chat: Sequence | None, start: float = 0.0, duration: float | None = None) -> dict[str, float | None]:
        """Features of the media in `path` (optionally a window of it) and its chat window.

        `chat` None means no chat for this stream: the chat group is None (imputed by the model).
        """
        samples = media.decode_audio(path, start, duration)
        frames = media.decode_grey_frames(path, start, duration)
        values: dict[str, float | None] = {}
        values.update(audio_features(samples, media.AUDIO_RATE))
        values.update(self.motion(frames))
        values.update(self.chat(chat))
        if self.audio_tags is not None:  # last: it may gate on the cheap features above
            values.update(self.audio_tags(samples, media.AUDIO_RATE, dict(values)))
        return values

    def motion(self, frames) -> dict[str, float]:
        values = motion_features(frames)
        values["motion_ratio"] = self.motion_baseline.ratio(values["motion_mean"])
        return values

    def chat(self, messages: Sequence | None) -> dict[str, float | None]:
        if messages is None:
            return {"chat_messages": None, "chat_users": None, "chat_emotes": None, "chat_rate_ratio": None}
        values: dict[str, float | None] = dict(chat_features(messages))
        values["chat_rate_ratio"] = self.chat_baseline.ratio(values["chat_messages"] or 0.0)
        return values
