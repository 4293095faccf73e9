from __future__ import annotations

import threading

import pytest

from server.chat.buffer import ChatBuffer
from server.chat.irc import ChatMessage, HypeEvent


def msg(ts: float, user: str = "alice", id: str | None = None) -> ChatMessage:
    return ChatMessage(id=id or f"{user}-{ts}", ts=ts, user=user, text="hi")


def ids(messages: list[ChatMessage]) -> list[str]:
    return [m.id for m in messages]


def test_window_is_half_open_and_sorted_even_for_late_arrivals() -> None:
    buf = ChatBuffer()
    for ts in (10.0, 12.0, 11.0, 20.0, 9.5):
        buf.add(msg(ts, id=str(ts)))
    assert ids(buf.window(10.0, 20.0)) == ["10.0", "11.0", "12.0"]
    assert ids(buf.window(9.0, 10.0)) == ["9.5"]
    assert buf.window(30.0, 40.0) == []


def test_clear_user_deletes_only_that_users_messages_up_to_the_ban() -> None:
    buf = ChatBuffer()
    for m in (msg(1, "alice"), msg(2, "bob"), msg(3, "alice"), msg(5, "alice")):
        buf.add(m)
    assert buf.clear_user("Alice", before_ts=3) == 2
    assert ids(buf.window(0, 10)) == ["bob-2", "alice-5"]


def test_clear_user_without_a_time_deletes_all_of_them() -> None:
    buf = ChatBuffer()
    buf.add(msg(1, "alice"))
    buf.add(msg(9, "alice"))
    buf.clear_user("alice")
    assert len(buf) == 0


def test_clear_all_deletes_everyones_messages_up_to_the_clear() -> None:
    buf = ChatBuffer()
    for m in (msg(1, "alice"), msg(2, "bob"), msg(4, "carol")):
        buf.add(m)
    assert buf.clear_all(before_ts=2) == 2
    assert ids(buf.window(0, 10)) == ["carol-4"]


def test_remove_deletes_one_message_by_id() -> None:
    buf = ChatBuffer()
    buf.add(msg(1, id="a"))
    buf.add(msg(2, id="b"))
    assert buf.remove("a") is True
    assert buf.remove("a") is False
    assert ids(buf.window(0, 10)) == ["b"]


def test_prune_drops_messages_older_than_the_cut() -> None:
    buf = ChatBuffer()
    for ts in range(10):
        buf.add(msg(ts))
    assert buf.prune(5) == 5
    assert [m.ts for m in buf.window(0, 100)] == [5, 6, 7, 8, 9]


def test_it_drops_the_oldest_past_its_bound() -> None:
    buf = ChatBuffer(max_messages=3)
    for ts in (5, 1, 4, 2, 3):
        buf.add(msg(ts))
    assert [m.ts for m in buf.window(0, 100)] == [3, 4, 5]
    assert buf.dropped == 2


def test_it_rejects_a_useless_bound() -> None:
    with pytest.raises(ValueError, match="max_messages"):
        ChatBuffer(max_messages=0)


def test_concurrent_writers_and_readers_lose_nothing() -> None:
    buf = ChatBuffer()
    per_thread = 2000
    unsorted: list[int] = []

    def write(user: str) -> None:
        for i in range(per_thread):
            buf.add(msg(i, user))

    def read() -> None:
        for _ in range(200):
            window = buf.window(0, per_thread)
            if window != sorted(window, key=lambda m: m.ts):
                unsorted.append(len(window))

    threads = [threading.Thread(target=write, args=(f"u{i}",)) for i in range(4)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(buf) == 4 * per_thread
    assert unsorted == []


def event(ts: float, kind: str = "sub", amount: float = 1.0) -> HypeEvent:
    return HypeEvent(id=f"{kind}-{ts}", ts=ts, kind=kind, amount=amount, user="alice")


def test_hype_events_have_their_own_time_window_and_survive_moderation() -> None:
    buf = ChatBuffer()
    for e in (event(12, "raid", 300), event(5), event(10, "bits", 100)):
        buf.add_event(e)
    buf.add(msg(11, "alice"))
    buf.clear_user("alice")
    buf.clear_all()
    assert [e.kind for e in buf.events(10, 20)] == ["bits", "raid"]
    assert buf.window(0, 100) == []


def test_prune_drops_old_hype_events_too() -> None:
    buf = ChatBuffer()
    for ts in (1, 5, 9):
        buf.add_event(event(ts))
    buf.prune(5)
    assert [e.ts for e in buf.events(0, 100)] == [5, 9]
