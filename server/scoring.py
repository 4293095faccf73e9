"""Score a segment with the metamodel and say in words why it scored high.

`score_window` is the one segment pipeline: features of a stretch of media and its chat
reaction window, then the score and its reasons. The live job, `server.analyze`,
`metamodel.build_default` and the benchmarks all call it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from metamodel import Metamodel
from metamodel.ranks import base_of, quantile_of
from metamodel.schema import CHAT_LAG_S, CHAT_WINDOW_S, RANK_PREFIX

if TYPE_CHECKING:
    from server.features import SegmentFeaturizer
    from server.live_decode import Decoded

_TEMPLATES = {
    "chat_rate_ratio": "chat {v:.1f}x its usual rate",
    "chat_messages": "{v:.0f} chat messages",
    "chat_users": "{v:.0f} people chatting",
    "chat_emotes": "{v:.0f} emotes in chat",
    # chat_positive/negative are counts in units of the stream's usual message count.
    "chat_positive": "positive chat {v:.1f}x the usual message rate",
    "chat_negative": "negative chat {v:.1f}x the usual message rate",
    "chat_hype": "subs, raids and bits {v:.1f}x usual",
    "chat_copypasta": "chat spamming one message {v:.1f}x usual",
    "audio_peak": "audio peak {v:.2f}",
    "audio_loudness": "loud audio ({v:.0f} LUFS)",
    "motion_ratio": "motion {v:.1f}x its usual",
    "motion_mean": "lots of motion ({pct:.0f}% frame change)",
    "motion_p95": "bursts of motion ({pct:.0f}% frame change)",
    "scene_cuts": "{v:.0f} scene cuts",
}
# rank:<feature>: where this segment stands in the stream's last hour ({pct}: share below it).
_RANK_TEMPLATES = {
    "chat_messages": "chat busier than {pct:.0f}% of this stream ({raw:.0f} messages)",
    "chat_users": "more people chatting than {pct:.0f}% of this stream ({raw:.0f})",
    "chat_emotes": "more emotes than {pct:.0f}% of this stream ({raw:.0f})",
    "chat_positive": "more positive chat than {pct:.0f}% of this stream",
    "chat_negative": "more negative chat than {pct:.0f}% of this stream",
    "chat_hype": "more subs, raids and bits than {pct:.0f}% of this stream",
    "chat_copypasta": "more copy-pasta than {pct:.0f}% of this stream",
    "audio_peak": "audio peaks higher than {pct:.0f}% of this stream",
    "audio_loudness": "louder than {pct:.0f}% of this stream ({raw:.0f} LUFS)",
    "motion_mean": "more motion than {pct:.0f}% of this stream",
    "motion_p95": "bursts of motion beyond {pct:.0f}% of this stream",
    "scene_cuts": "more scene cuts than {pct:.0f}% of this stream",
}


@dataclass(frozen=True)
class Reason:
    feature: str
    value: float
    contribution: float  # the feature's term in the logit
    text: str

    def to_dict(self) -> dict:
        return {
            "feature": self.feature,
            "value": round(self.value, 4),
            "contribution": round(self.contribution, 4),
            "text": self.text,
        }


def describe(feature: str, value: float, values: Mapping[str, float | None] | None = None) -> str:
    """A short human phrase for a feature's value (`values`: the segment's others, for rank:* phrases)."""
    if feature.startswith(RANK_PREFIX):
        base = base_of(feature)
        raw = (values or {}).get(base)
        pct = min(quantile_of(value) * 100, 99.0)  # never "100%": the segment is part of its own history
        if base.startswith("audio_tag:"):
            return f"sounds more like {base.split(':', 1)[1]} than {pct:.0f}% of this stream"
        template = _RANK_TEMPLATES.get(base, base + " above {pct:.0f}% of this stream")
        if raw is None and "{raw" in template:
            template = template.split(" (")[0]
        return template.format(pct=pct, raw=raw)
    if feature.startswith("audio_tag:"):
        return f"sounds like {feature.split(':', 1)[1]} ({value:.0%})"
    template = _TEMPLATES.get(feature, feature + " {v:.2f}")
    return template.format(v=value, pct=value * 100)


def score_segment(model: Metamodel, values: Mapping[str, float | None], top: int = 3) -> tuple[float, list[Reason]]:
    """Probability of a highlight and the `top` features that pushed it up the most."""
    terms = model.contributions(values)
    reasons = [
        Reason(name, float(values[name]), term, describe(name, float(values[name]), values))  # type: ignore[arg-type]
        for name, term in sorted(terms.items(), key=lambda kv: kv[1], reverse=True)
        if term > 0 and values.get(name) is not None
    ]
    return model.score(values), reasons[:top]


@dataclass(frozen=True)
class ScoredWindow:
    values: dict[str, float | None]  # every feature, raw and stream-relative
    score: float
    reasons: list[Reason]


def reaction_window(start: float, lag: float = CHAT_LAG_S, length: float = CHAT_WINDOW_S) -> tuple[float, float]:
    """The chat that reacts to a segment starting at `start` (seconds, any clock)."""
    return start + lag, start + lag + length


def score_window(
    featurizer: SegmentFeaturizer,
    model: Metamodel,
    path: Path | None,
    chat: Sequence | None,
    events: Sequence | None = None,
    start: float = 0.0,
    duration: float | None = None,
    bar: float | None = None,
    decoded: Decoded | None = None,
) -> ScoredWindow:
    """Features of `path` (optionally a stretch of it) and its reaction chat, the score, the reasons.

    `chat`/`events`: the messages and hype events of the segment's reaction window
    (`reaction_window`), None when the stream has no chat. `bar`: the score the highlight selector
    will hold this window to (`HighlightSelector.bar_for`); the audio tagger skips a window
    that no tags could lift to it (metamodel/cascade.py). `decoded`: the window's audio and
    frames if live ingest decoded them already (server/live_decode.py).
    """
    values = featurizer.featurize(path, chat, start, duration, events=events, model=model, bar=bar, decoded=decoded)
    score, reasons = score_segment(model, values)
    return ScoredWindow(values, score, reasons)
