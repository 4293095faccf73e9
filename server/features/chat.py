"""Chat features of one segment's (lag-shifted) window of messages."""

from __future__ import annotations

from typing import Iterable, Protocol


class _Message(Protocol):
    user: str
    emotes: list[str]


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
