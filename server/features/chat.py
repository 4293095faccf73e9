"""Chat features of one segment's (lag-shifted) window of messages and hype events.

Only numbers leave here: the texts are read to count, classify and compare, never stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Protocol

# Hype points, in "one subscription" units. A tier-1 sub costs about $5, and so do 500 bits
# (Twitch sells 100 bits for about $1.40 and pays the streamer $1), so 500 bits = 1 point. A raid
# is an audience arriving, not money: 1 point per 100 raiders, at least 1 for any raid.
BITS_PER_POINT = 500.0
RAIDERS_PER_POINT = 100.0
MIN_COPIES = 2  # a "most repeated message" seen once is no copy-pasta


class _Message(Protocol):
    user: str
    text: str
    emotes: list[str]


class _Event(Protocol):
    kind: str
    amount: float


class _Sentiment(Protocol):
    label: str


def chat_features(messages: Iterable[_Message]) -> dict[str, float]:
    """Return `chat_messages`, `chat_users` (distinct senders) and `chat_emotes` (emote uses)."""
    count = 0
    users: set[str] = set()
    emotes = 0
    for message in messages:
        count += 1
        users.add(message.user)
        emotes += len(message.emotes)
    return {"chat_messages": float(count), "chat_users": float(len(users)), "chat_emotes": float(emotes)}


def sentiment_counts(sentiments: Iterable[_Sentiment]) -> tuple[float, float]:
    """(positive, negative) message counts."""
    labels = Counter(s.label for s in sentiments)
    return float(labels["positive"]), float(labels["negative"])


def spread_sample(items: Sequence, limit: int | None) -> Sequence:
    """At most `limit` items, evenly spaced over the window (all of them when None or fewer)."""
    if limit is None or len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def hype_points(events: Iterable[_Event]) -> float:
    """Subs + gifted subs + bits/500 + raiders/100 (at least 1 per raid), in subscription units."""
    points = 0.0
    for event in events:
        if event.kind == "bits":
            points += event.amount / BITS_PER_POINT
        elif event.kind == "raid":
            points += max(event.amount / RAIDERS_PER_POINT, 1.0)
        else:  # sub, resub, (anon)subgift: 1; a mystery gift carries its count
            points += event.amount
    return points


def spam_key(text: str) -> str:
    """What a message repeats: its shortest repeating run of words, case-folded.

    "LULW LULW LULW" and "lulw" share a key, as do "AIM OMEGALUL AIM OMEGALUL" and one
    "AIM OMEGALUL", so a copy-pasta counts as the same however many times a viewer pasted it.
    """
    words = text.casefold().split()
    for size in range(1, len(words) // 2 + 1):
        if len(words) % size == 0 and words == words[:size] * (len(words) // size):
            return " ".join(words[:size])
    return " ".join(words)


def copypasta_share(messages: Sequence[_Message]) -> float:
    """Share of the window's messages that repeat its most repeated message (0 without repeats)."""
    keys = Counter(spam_key(m.text) for m in messages)
    keys.pop("", None)
    if not keys:
        return 0.0
    _, top = keys.most_common(1)[0]
    return top / len(messages) if top >= MIN_COPIES else 0.0
