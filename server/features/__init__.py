"""Per-segment features: audio, motion and chat, with the stream's rolling baselines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from metamodel.cascade import is_tag, worth_computing
from metamodel.ranks import StreamRanks
from metamodel.schema import FEATURE_GROUPS, RANKED
from server import media
from server.features.audio import audio_features
from server.features.baseline import RollingBaseline
from server.features.chat import chat_features, copypasta_share, hype_points, sentiment_counts, spread_sample
from server.features.motion import motion_features
from server.live_decode import Decoded

AUDIO_FEATURES = FEATURE_GROUPS["audio"]
MOTION_FEATURES = FEATURE_GROUPS["motion"]
CHAT_FEATURES = FEATURE_GROUPS["chat"]
BASELINE_SEGMENTS = 30  # 5 minutes of 10 s segments: long enough to be "usual", short enough to follow a stream


@dataclass
class SegmentFeaturizer:
    """Turns one stream's segments, in order, into feature dicts (schema v1 names).

    Stateful only through the rolling baselines, so one instance per stream.
    """

    chat_baseline: RollingBaseline = field(default_factory=lambda: RollingBaseline(BASELINE_SEGMENTS, floor=1.0))
    motion_baseline: RollingBaseline = field(default_factory=lambda: RollingBaseline(BASELINE_SEGMENTS, floor=0.002))
    # Subs and raids are rare: their median is 0, so compare with the mean, and call at least one
    # point per segment "usual" so a small channel's first sub is 1.0, not 20.
    hype_baseline: RollingBaseline = field(
        default_factory=lambda: RollingBaseline(BASELINE_SEGMENTS, floor=1.0, statistic="mean", start_at_floor=True)
    )
    # Below 5 % of messages a "most repeated message" is noise, not a chat-wide spam wave.
    copypasta_baseline: RollingBaseline = field(default_factory=lambda: RollingBaseline(BASELINE_SEGMENTS, floor=0.05))
    # texts -> Sentiments; None means the lexicon backend (the transformers one is wired by jobs.py).
    sentiment: Callable[[list], list] | None = None
    # At most this many messages per segment are classified (an evenly spaced sample, counts
    # scaled back up): a model that manages ~10 messages/s must not fall behind a 100/s chat.
    sentiment_max: int | None = None
    # (samples, rate, candidate, reference=) -> audio_tag:* features; None: no tagger (audio_tags.py).
    audio_tags: Callable[..., dict] | None = None
    # One segment in this many is tagged regardless and feeds the tags' ranks: REFERENCE_EVERY with
    # the tagger's cascade on (metamodel/cascade.py), 1 (every segment) with it off.
    tag_reference_every: int = 1
    tag_reference_phase: int = 0  # which of each `tag_reference_every` segments is the reference
    _tag_count: int = 0
    # Every raw feature against this stream's last hour (rank:* features, metamodel/ranks.py).
    ranks: StreamRanks = field(default_factory=lambda: StreamRanks(RANKED))

    def featurize(
        self,
        path: Path | None,
        chat: Sequence | None,
        start: float = 0.0,
        duration: float | None = None,
        events: Sequence | None = None,
        model=None,
        bar: float | None = None,
        decoded: Decoded | None = None,
    ) -> dict[str, float | None]:
        """Features of the media in `path` (optionally a window of it) and its chat reaction window,
        raw and ranked against this stream's history.

        `path` None means no media (a chat log alone): audio and motion are None (imputed).
        `chat` None means no chat for this stream: the chat group is None (imputed by the model).
        `model`, `bar`: the metamodel and the selector's bar the audio tagger gates on
        (AUDIO_TAG_CANDIDATES_ONLY, metamodel/cascade.py); no bar: tag.
        `decoded`: the segment's (samples, frames) as live ingest already decoded them
        (server/live_decode.py), instead of decoding `path` again.
        """
        if decoded is not None:
            samples, frames = decoded
        elif path is not None:
            samples, frames = media.decode_segment(path, start, duration)
        else:
            samples, frames = None, None
        values: dict[str, float | None] = {}
        # A stream the segment lacks leaves its group None (imputed by the model), not "silent"
        # or "still", which would be a claim about the stream.
        values.update(
            audio_features(samples, media.AUDIO_RATE) if samples is not None else dict.fromkeys(AUDIO_FEATURES)
        )
        values.update(self.motion(frames))
        values.update(self.chat(chat, events))
        values.update(self.ranks.rank(values))
        if self.audio_tags is not None:  # last: it may gate on the cheap features above
            # The reference sample is tagged whatever the cheap features say (no bar), and only it
            # feeds the tags' rank history (metamodel/cascade.py); with every=1 that is all segments.
            reference = self._tag_count % self.tag_reference_every == self.tag_reference_phase
            self._tag_count += 1
            candidate = reference or model is None or worth_computing(model, values, is_tag, bar, self.ranks.bound)
            tags = self.audio_tags(samples, media.AUDIO_RATE, candidate, reference=reference)
            values.update(tags)
            values.update(self.ranks.rank(tags, remember=reference))
        return values

    def motion(self, frames) -> dict[str, float | None]:
        if frames is None:
            return dict.fromkeys(MOTION_FEATURES)
        values: dict[str, float | None] = {**motion_features(frames)}
        values["motion_ratio"] = self.motion_baseline.ratio(values["motion_mean"])  # type: ignore[arg-type]  # set with frames
        return values

    def chat(self, messages: Sequence | None, events: Sequence | None = None) -> dict[str, float | None]:
        """Chat group features; `events` are the window's hype events (subs, gifts, raids, bits)."""
        if messages is None:
            return dict.fromkeys(CHAT_FEATURES)
        values: dict[str, float | None] = dict(chat_features(messages))
        count = values["chat_messages"] or 0.0
        # Sentiment counts in units of the stream's usual message count, so a burst of joy in a
        # small chat and in a huge one read alike; with no history yet, this segment is the usual.
        usual = self.chat_baseline.usual() or max(count, 1.0)
        values["chat_rate_ratio"] = self.chat_baseline.ratio(count)
        sample = spread_sample(messages, self.sentiment_max)
        positive, negative = (n * len(messages) / max(len(sample), 1) for n in sentiment_counts(self._classify(sample)))
        values["chat_positive"] = min(positive / usual, self.chat_baseline.cap)
        values["chat_negative"] = min(negative / usual, self.chat_baseline.cap)
        values["chat_hype"] = self.hype_baseline.ratio(hype_points(events or ()))
        values["chat_copypasta"] = self.copypasta_baseline.ratio(copypasta_share(messages))
        return values

    def _classify(self, messages: Sequence) -> list:
        if not messages:
            return []
        from server.chat.sentiment import ChatText

        texts = [ChatText(m.text, tuple(m.emotes)) for m in messages]
        if self.sentiment is not None:
            return self.sentiment(texts)
        from server.chat.sentiment.lexicon import shared_lexicon

        return shared_lexicon().classify(texts)
