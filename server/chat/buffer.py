"""A thread-safe, bounded store of chat messages ordered by their Twitch timestamp."""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable

from .irc import ChatMessage, HypeEvent

log = logging.getLogger(__name__)

MAX_MESSAGES = 200_000  # ~30 min of the busiest Twitch chats; a few hundred MB at most
MAX_EVENTS = 20_000  # hype events are far rarer than messages; a 1,000-gift bomb still fits


def _event_ts(event: HypeEvent) -> float:
    return event.ts


def _ts(msg: ChatMessage) -> float:
    return msg.ts


class ChatBuffer:
    """Chat messages kept sorted by `ts`, so a segment's window is two bisections away.

    The IRC thread writes and the scoring thread reads, hence the lock. Messages arrive almost in
    timestamp order, so the sorted insert is nearly always an append.
    """

    def __init__(self, max_messages: int = MAX_MESSAGES) -> None:
        if max_messages < 1:
            raise ValueError(f"max_messages must be >= 1, got {max_messages}")
        self.max_messages = max_messages
        self._lock = threading.Lock()
        self._messages: list[ChatMessage] = []
        self._events: list[HypeEvent] = []  # subs, gifts, raids, bits: kept apart from messages
        self.dropped = 0  # messages evicted by the size bound, for the status page

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)

    def add(self, msg: ChatMessage) -> None:
        """Store `msg`; past `max_messages` the oldest are dropped."""
        with self._lock:
            bisect.insort_right(self._messages, msg, key=_ts)
            excess = len(self._messages) - self.max_messages
            if excess > 0:
                del self._messages[:excess]
                self.dropped += excess

    def add_event(self, event: HypeEvent) -> None:
        """Store a hype event; moderation (CLEARCHAT/CLEARMSG) never removes these."""
        with self._lock:
            bisect.insort_right(self._events, event, key=_event_ts)
            if len(self._events) > MAX_EVENTS:
                del self._events[: len(self._events) - MAX_EVENTS]

    def events(self, start: float, end: float) -> list[HypeEvent]:
        """Return the hype events with `start` <= ts < `end`, oldest first."""
        with self._lock:
            lo = bisect.bisect_left(self._events, start, key=_event_ts)
            hi = bisect.bisect_left(self._events, end, key=_event_ts)
            return self._events[lo:hi]

    def clear_user(self, login: str, before_ts: float | None = None) -> int:
        """Delete `login`'s messages sent at or before `before_ts` (all if None); return count.

        This is CLEARCHAT for one user (timeout/ban): Twitch hides those messages, and chat
        features should not count what viewers never saw.
        """
        login = login.lower()
        return self._remove_where(lambda m: m.user == login and (before_ts is None or m.ts <= before_ts))

    def clear_all(self, before_ts: float | None = None) -> int:
        """Delete every message sent at or before `before_ts` (CLEARCHAT without a user)."""
        return self._remove_where(lambda m: before_ts is None or m.ts <= before_ts)

    def remove(self, msg_id: str) -> bool:
        """Delete the message with id `msg_id` (CLEARMSG); return whether it was there."""
        return self._remove_where(lambda m: m.id == msg_id) > 0

    def window(self, start: float, end: float) -> list[ChatMessage]:
        """Return the messages with `start` <= ts < `end`, oldest first."""
        with self._lock:
            lo = bisect.bisect_left(self._messages, start, key=_ts)
            hi = bisect.bisect_left(self._messages, end, key=_ts)
            return self._messages[lo:hi]

    def prune(self, before: float) -> int:
        """Drop messages and events with ts < `before` (already scored); return how many messages."""
        with self._lock:
            del self._events[: bisect.bisect_left(self._events, before, key=_event_ts)]
            cut = bisect.bisect_left(self._messages, before, key=_ts)
            del self._messages[:cut]
            return cut

    def _remove_where(self, predicate: Callable[[ChatMessage], bool]) -> int:
        # A full scan: moderation events are rare next to messages, and order must be kept.
        with self._lock:
            kept = [m for m in self._messages if not predicate(m)]
            removed = len(self._messages) - len(kept)
            self._messages = kept
        return removed
