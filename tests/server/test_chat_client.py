"""TwitchChatClient against the real demo IRC server on loopback, sped up."""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from shared_data import SHARED_DATA
from waiting import wait_for

from server.chat.buffer import ChatBuffer
from server.chat.client import TwitchChatClient
from server.demo.irc_server import DEFAULT_LOG, TwitchIRCServer

pytestmark = pytest.mark.timeout(60)

SHARED_LOG = SHARED_DATA / "twitch-chat" / "xqcow-2019-09-15.irc.gz"
FAST = {"backoff_initial": 0.05, "backoff_max": 0.2}  # seconds; real Twitch gets 1 s .. 60 s


@pytest.fixture
def chat_log() -> Path:
    for path in (DEFAULT_LOG, SHARED_LOG):
        if path.is_file():
            return path
    pytest.skip(f"real Twitch chat log not found at {DEFAULT_LOG} nor {SHARED_LOG}")


@pytest.fixture
def start_server() -> Iterator[Callable[..., TwitchIRCServer]]:
    servers: list[TwitchIRCServer] = []

    def start(log_path: Path, **kwargs: object) -> TwitchIRCServer:
        server = TwitchIRCServer(log_path, **kwargs)  # type: ignore[arg-type]
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(chat_log: Path, start_server: Callable[..., TwitchIRCServer]) -> TwitchIRCServer:
    return start_server(chat_log, speed=50.0, ping_interval=0.3)


@pytest.fixture
def start_client() -> Iterator[Callable[..., TwitchChatClient]]:
    clients: list[TwitchChatClient] = []

    def start(port: int, buffer: ChatBuffer | None = None, **kwargs: object) -> TwitchChatClient:
        client = TwitchChatClient(
            "demo_channel", buffer or ChatBuffer(), host="127.0.0.1", port=port, tls=False,
            **{**FAST, **kwargs},  # type: ignore[arg-type]
        )  # fmt: skip
        client.start()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.stop()


def test_it_receives_chat_stamped_now_with_emotes(server, start_client) -> None:
    client = start_client(server.port)
    assert wait_for(lambda: client.messages_received >= 300)
    assert client.state == "joined"
    messages = client.buffer.window(0, time.time() + 1)
    assert all(abs(m.ts - time.time()) < 10 for m in messages)  # rewritten to the live clock
    assert {m.channel for m in messages} == {"demo_channel"}
    assert sum(len(m.emotes) for m in messages) > 20
    assert all(e and " " not in e for m in messages for e in m.emotes)


def test_it_answers_ping(server, start_client) -> None:
    start_client(server.port)
    assert wait_for(lambda: server.pongs_received >= 2)


def test_it_rejoins_after_reconnect(server, start_client) -> None:
    client = start_client(server.port)
    assert wait_for(lambda: client.state == "joined")
    server.send_reconnect()
    assert wait_for(lambda: server.clients_joined == 2 and client.state == "joined")
    before = client.messages_received
    assert wait_for(lambda: client.messages_received > before + 20)


def test_it_rejoins_after_the_connection_drops(server, start_client) -> None:
    client = start_client(server.port)
    assert wait_for(lambda: client.state == "joined")
    for rejoins in (2, 3):
        server.drop_clients()
        assert wait_for(lambda rejoins=rejoins: server.clients_joined == rejoins and client.state == "joined")
    assert client.connects == 3


def test_it_keeps_retrying_while_the_server_is_down(start_client) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = start_client(port)
    assert wait_for(lambda: client.last_error is not None and client.state != "error")
    assert client.is_alive()


def test_clearchat_and_clearmsg_delete_messages(tmp_path, start_server, start_client) -> None:
    log = tmp_path / "chat.irc"
    log.write_text(
        "@id=a1;tmi-sent-ts=1000 :alice!alice@alice.tmi.twitch.tv PRIVMSG #x :first\n"
        "@id=b1;tmi-sent-ts=1001 :bob!bob@bob.tmi.twitch.tv PRIVMSG #x :hello\n"
        "@id=b2;tmi-sent-ts=1002 :bob!bob@bob.tmi.twitch.tv PRIVMSG #x :deleted\n"
        "@target-user-id=1;tmi-sent-ts=1003 :tmi.twitch.tv CLEARCHAT #x :alice\n"
        "@login=bob;target-msg-id=b2;tmi-sent-ts=1004 :tmi.twitch.tv CLEARMSG #x :deleted\n"
        "@id=a2;tmi-sent-ts=1300 :alice!alice@alice.tmi.twitch.tv PRIVMSG #x :after timeout\n"
    )
    server = start_server(log, speed=1.0, loop=False)
    client = start_client(server.port)
    assert wait_for(lambda: client.messages_received == 4)
    assert wait_for(lambda: [m.id for m in client.buffer.window(0, 2e9)] == ["b1", "a2"])


def test_clearchat_without_a_user_clears_the_room(tmp_path, start_server, start_client) -> None:
    log = tmp_path / "chat.irc"
    log.write_text(
        "@id=a1;tmi-sent-ts=1000 :alice!alice@alice.tmi.twitch.tv PRIVMSG #x :one\n"
        "@id=b1;tmi-sent-ts=1001 :bob!bob@bob.tmi.twitch.tv PRIVMSG #x :two\n"
        "@tmi-sent-ts=1002 :tmi.twitch.tv CLEARCHAT #x\n"
        "@id=c1;tmi-sent-ts=1200 :carol!carol@carol.tmi.twitch.tv PRIVMSG #x :three\n"
    )
    server = start_server(log, speed=1.0, loop=False)
    client = start_client(server.port)
    assert wait_for(lambda: client.messages_received == 3)
    assert wait_for(lambda: [m.id for m in client.buffer.window(0, 2e9)] == ["c1"])


def test_a_ban_notice_is_final(server, start_client) -> None:
    client = start_client(server.port)
    assert wait_for(lambda: client.state == "joined")
    server.broadcast(
        "@msg-id=msg_banned :tmi.twitch.tv NOTICE #demo_channel "
        ":You are permanently banned from talking in demo_channel."
    )
    assert wait_for(lambda: client.state == "error")
    assert "banned" in (client.last_error or "")
    client.join(1.0)
    assert not client.is_alive()
    time.sleep(0.3)  # several backoff periods: it must not have come back
    assert server.clients_joined == 1


def test_stop_ends_the_thread_promptly_not_at_the_next_idle_timeout(server, start_client) -> None:
    client = start_client(server.port)
    assert wait_for(lambda: client.messages_received > 0)
    assert client.idle_timeout >= 60
    client.stop(timeout=10.0)
    assert not client.is_alive()
    assert client.state == "disconnected"
    assert wait_for(lambda: server.clients == [])


def test_the_token_never_reaches_the_log(server, start_client, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = start_client(server.port, nick="demo_bot", token="oauth:sekrit-token")
    assert wait_for(lambda: client.state == "joined")
    server.drop_clients()
    assert wait_for(lambda: server.clients_joined == 2 and client.state == "joined")
    client.stop()
    assert "sekrit" not in caplog.text
    assert "sekrit" not in repr(client)


def test_without_a_token_it_logs_in_anonymously(server, start_client) -> None:
    client = start_client(server.port, nick="demo_bot")
    assert wait_for(lambda: client.state == "joined")
    assert re.fullmatch(r"justinfan\d+", client.nick)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"channel": "not a channel"}, "channel", id="bad-channel"),
        pytest.param({"token": "abc"}, "nick", id="token-without-nick"),
    ],
)
def test_it_rejects_bad_arguments(kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TwitchChatClient(**{"channel": "ok", "buffer": ChatBuffer(), **kwargs})  # type: ignore[arg-type]


def test_it_keeps_subs_gifts_raids_and_cheers_as_hype_events(tmp_path, start_server, start_client) -> None:
    log = tmp_path / "chat.irc"
    log.write_text(
        "@id=m1;bits=100;tmi-sent-ts=1000 :alice!alice@alice.tmi.twitch.tv PRIVMSG #x :Cheer100 gg\n"
        "@id=s1;login=bob;msg-id=resub;tmi-sent-ts=1001 :tmi.twitch.tv USERNOTICE #x :5 months\n"
        "@id=g1;login=carol;msg-id=submysterygift;msg-param-mass-gift-count=5;tmi-sent-ts=1002 "
        ":tmi.twitch.tv USERNOTICE #x\n"
        "@id=g2;login=carol;msg-id=subgift;msg-param-community-gift-id=7;tmi-sent-ts=1002 "
        ":tmi.twitch.tv USERNOTICE #x\n"
        "@id=r1;login=dave;msg-id=raid;msg-param-viewerCount=420;tmi-sent-ts=1003 :tmi.twitch.tv USERNOTICE #x\n"
        "@id=n1;login=erin;msg-id=announcement;tmi-sent-ts=1004 :tmi.twitch.tv USERNOTICE #x :hello\n"
    )
    server = start_server(log, speed=10.0, loop=False)
    client = start_client(server.port)
    assert wait_for(lambda: client.events_received == 4)
    events = client.buffer.events(0, 2e9)
    assert [(e.kind, e.amount) for e in events] == [
        ("bits", 100.0),
        ("resub", 1.0),
        ("submysterygift", 5.0),
        ("raid", 420.0),
    ]
    assert client.messages_received == 1
