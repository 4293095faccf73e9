"""The demo IRC server, spoken to line by line as Twitch would be."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from waiting import wait_for

from server.chat.irc import IRCMessage, parse_line
from server.demo.irc_server import TwitchIRCServer, load_log

pytestmark = pytest.mark.timeout(60)

LOG_LINES = [
    "@emotes=25:0-4;id=m1;tmi-sent-ts=1000000 :alice!alice@alice.tmi.twitch.tv PRIVMSG #src :Kappa hi",
    "@ban-duration=5;tmi-sent-ts=1000500 :tmi.twitch.tv CLEARCHAT #src :alice",
    "@id=m2;tmi-sent-ts=1001000 :bob!bob@bob.tmi.twitch.tv PRIVMSG #src :one second later",
]  # fmt: skip


class Peer:
    """A bare-socket IRC client for poking at the server."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.file = self.sock.makefile("rb")

    def send(self, *lines: str) -> None:
        self.sock.sendall("".join(f"{line}\r\n" for line in lines).encode())

    def read(self) -> IRCMessage:
        raw = self.file.readline()
        assert raw.endswith(b"\r\n"), f"connection closed or bad line ending: {raw!r}"
        return parse_line(raw.decode())

    def read_until(self, command: str, limit: int = 50) -> list[IRCMessage]:
        seen = []
        for _ in range(limit):
            seen.append(self.read())
            if seen[-1].command == command:
                return seen
        raise AssertionError(f"no {command} in {[m.command for m in seen]}")

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def chat_log(tmp_path: Path) -> Path:
    path = tmp_path / "chat.irc"
    path.write_text("\n".join(LOG_LINES) + "\n")
    return path


@pytest.fixture
def server(chat_log: Path) -> Iterator[TwitchIRCServer]:
    server = TwitchIRCServer(chat_log, speed=10.0, loop=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def peer(server: TwitchIRCServer) -> Iterator[Peer]:
    peer = Peer(server.port)
    yield peer
    peer.close()


def test_it_welcomes_an_anonymous_login_like_twitch(peer: Peer) -> None:
    peer.send("CAP REQ :twitch.tv/tags twitch.tv/commands", "NICK justinfan4711")
    ack = peer.read()
    assert (ack.source.nick, ack.command, ack.params) == (  # type: ignore[union-attr]
        "tmi.twitch.tv", "CAP", ["*", "ACK", "twitch.tv/tags twitch.tv/commands"],
    )  # fmt: skip
    welcome = peer.read_until("376")
    assert [m.command for m in welcome] == ["001", "002", "003", "004", "375", "372", "376"]
    assert all(m.params[0] == "justinfan4711" for m in welcome)


def test_join_replays_the_log_rewritten_to_the_channel_and_the_clock(peer: Peer) -> None:
    peer.send("CAP REQ :twitch.tv/tags twitch.tv/commands", "NICK justinfan1", "JOIN #demo")
    joined = peer.read_until("366")
    assert any(m.command == "JOIN" and m.params == ["#demo"] for m in joined)
    assert any(m.command == "353" for m in joined)
    first = peer.read_until("PRIVMSG")[-1]
    clear = peer.read()
    second = peer.read()
    assert (first.params, first.tags["emotes"], first.tags["id"]) == (
        ["#demo", "Kappa hi"], "25:0-4", "m1",
    )  # fmt: skip
    assert clear.command == "CLEARCHAT" and clear.params == ["#demo", "alice"]
    for msg in (first, clear, second):
        assert abs(int(msg.tags["tmi-sent-ts"]) / 1000 - time.time()) < 2
    # One second of log time at speed 10.
    gap = (int(second.tags["tmi-sent-ts"]) - int(first.tags["tmi-sent-ts"])) / 1000
    assert 0.05 < gap < 0.5


def test_without_capabilities_it_sends_bare_privmsgs_only(peer: Peer) -> None:
    peer.send("NICK justinfan2", "JOIN #demo")
    peer.read_until("366")
    first, second = peer.read(), peer.read()
    assert [(m.command, m.tags) for m in (first, second)] == [("PRIVMSG", {}), ("PRIVMSG", {})]
    assert second.params == ["#demo", "one second later"]


def test_it_accepts_any_token_with_a_login(peer: Peer) -> None:
    peer.send("PASS oauth:whatever", "NICK some_bot")
    assert peer.read().command == "001"


def test_it_refuses_a_named_login_without_a_token(peer: Peer) -> None:
    peer.send("NICK some_bot")
    notice = peer.read()
    assert notice.command == "NOTICE" and notice.params[-1] == "Improperly formatted auth"
    assert peer.file.readline() == b""  # and hangs up


def test_it_naks_unknown_capabilities(peer: Peer) -> None:
    peer.send("CAP REQ :twitch.tv/tags made/up")
    assert peer.read().params == ["*", "NAK", "twitch.tv/tags made/up"]


def test_it_pings_and_pongs(chat_log: Path) -> None:
    server = TwitchIRCServer(chat_log, ping_interval=0.1)
    server.start()
    peer = Peer(server.port)
    try:
        peer.send("NICK justinfan3", "PING :hello")
        messages = peer.read_until("PONG")
        assert messages[-1].params[-1] == "hello"
        assert peer.read_until("PING")[-1].params == ["tmi.twitch.tv"]
        peer.send("PONG :tmi.twitch.tv")
        assert wait_for(lambda: server.pongs_received == 1)
    finally:
        peer.close()
        server.stop()


def test_it_loops_the_log_with_fresh_message_ids(chat_log: Path) -> None:
    server = TwitchIRCServer(chat_log, speed=20.0, loop=True)
    server.start()
    peer = Peer(server.port)
    try:
        peer.send("CAP REQ :twitch.tv/tags", "NICK justinfan5", "JOIN #demo")
        peer.read_until("366")
        ids = [peer.read_until("PRIVMSG")[-1].tags["id"] for _ in range(5)]
        assert ids[:2] == ["m1", "m2"]
        assert len(set(ids)) == 5
    finally:
        peer.close()
        server.stop()


def test_a_channel_with_a_head_start_joins_its_chat_that_far_into_the_log(chat_log: Path) -> None:
    server = TwitchIRCServer(chat_log, speed=10.0, loop=False, head_starts={"ahead": 0.6})
    server.start()
    peers = {channel: Peer(server.port) for channel in ("demo", "ahead")}
    try:
        for channel, peer in peers.items():
            peer.send("CAP REQ :twitch.tv/tags", f"NICK justinfan{len(channel)}", f"JOIN #{channel}")
        first = {channel: peer.read_until("PRIVMSG")[-1] for channel, peer in peers.items()}
    finally:
        for peer in peers.values():
            peer.close()
        server.stop()
    assert first["demo"].tags["id"] == "m1"
    assert first["ahead"].tags["id"] == "m2", "the lines before 0.6 s of log time were said before it joined"
    assert abs(int(first["ahead"].tags["tmi-sent-ts"]) / 1000 - time.time()) < 2


def test_send_reconnect_tells_clients_and_hangs_up(server: TwitchIRCServer, peer: Peer) -> None:
    peer.send("NICK justinfan6", "JOIN #demo")
    peer.read_until("366")
    assert server.clients_joined == 1
    server.send_reconnect()
    assert peer.read_until("RECONNECT")[-1].params == []
    assert peer.file.readline() == b""


def test_part_stops_the_replay(chat_log: Path) -> None:
    server = TwitchIRCServer(chat_log, speed=1.0, loop=False)  # next PRIVMSG due after 1 s
    server.start()
    peer = Peer(server.port)
    try:
        peer.send("NICK justinfan7", "JOIN #demo")
        peer.read_until("PRIVMSG")
        peer.send("PART #demo")
        assert peer.read_until("PART")[-1].params == ["#demo"]
        peer.sock.settimeout(1.5)
        with pytest.raises(TimeoutError):
            peer.read()
    finally:
        peer.close()
        server.stop()


def test_load_log_keeps_replayable_lines_with_non_decreasing_offsets(tmp_path: Path) -> None:
    path = tmp_path / "log.irc"
    path.write_text(
        "@tmi-sent-ts=2000 :a!a@a PRIVMSG #c :x\n"
        "@tmi-sent-ts=1900 :tmi.twitch.tv CLEARCHAT #c :a\n"
        ":tmi.twitch.tv PING :no-ts\n"
        "not irc at all @@@\n"
        "@tmi-sent-ts=2500 :tmi.twitch.tv ROOMSTATE #c\n"
        "@tmi-sent-ts=3000 :a!a@a PRIVMSG #c :y\n"
    )
    entries = load_log(path)
    assert [(e.offset, e.msg.command) for e in entries] == [
        (0.0, "PRIVMSG"), (0.0, "CLEARCHAT"), (1.0, "PRIVMSG"),
    ]  # fmt: skip
