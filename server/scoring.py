"""Score a segment with the metamodel and say in words why it scored high."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from metamodel import Metamodel

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


@dataclass(frozen=True)
class Reason:
    feature: str
    value: float
    contribution: float  # the feature's term in the logit
    text: str

    def to_dict(self) -> dict:
        return {"feature": self.feature, "value": round(self.value, 4), "contribution": round(self.contribution, 4), "text": self.text}


def describe(feature: str, value: float) -> str:
    """A short human phrase for a feature's value."""
    if feature.startswith("audio_tag:"):
        return f"sounds like {feature.split(':', 1)[1]} ({value:.0%})"
    template = _TEMPLATES.get(feature, feature + " {v:.2f}")
    return template.format(v=value, pct=value * 100)


def score_segment(model: Metamodel, values: Mapping[str, float | None], top: int = 3) -> tuple[float, list[Reason]]:
    """Probability of a highlight and the `top` features that pushed it up the most."""
    terms = model.contributions(values)
    reasons = [
        Reason(name, float(values[name]), term, describe(name, float(values[name])))  # type: ignore[arg-type]
        for name, term in sorted(terms.items(), key=lambda kv: kv[1], reverse=True)
        if term > 0 and values.get(name) is not None
    ]
    return model.score(values), reasons[:top]
