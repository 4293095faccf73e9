"""A loopback IRC server that speaks Twitch's chat dialect and replays a recorded chat log.

Every channel exists: a client that JOINs ``#anything`` gets the log's PRIVMSG, CLEARCHAT,
CLEARMSG and USERNOTICE lines rewritten to that channel, with the log's own pacing (divided by
`speed`) and ``tmi-sent-ts`` set to the wall clock at sending, so the chat lines up with the demo
video that is "live" at the same moment. It is a test double for `server.chat.client`, so it
copies the parts of Twitch a client can trip on: capabilities, tags only on request, PING,
RECONNECT, anonymous ``justinfan`` logins.
"""

from __future__ import annotations

import gzip
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from server.chat.irc import IRCMessage, IRCParseError, format_line, parse_line

log = logging.getLogger(__name__)

DEFAULT_LOG = Path(__file__).resolve().parent / "media" / "xqcow-2019-09-15.irc.gz"
SERVER_NAME = "tmi.twitch.tv"
KNOWN_CAPS = frozenset({"twitch.tv/tags", "twitch.tv/commands", "twitch.tv/membership"})
REPLAYED = frozenset({"PRIVMSG", "CLEARCHAT", "CLEARMSG", "USERNOTICE"})
ANONYMOUS_NICK_RE = re.compile(r"^justinfan\d+$")
NICK_RE = re.compile(r"^[a-z0-9_]{1,25}$")
PING_INTERVAL = 60.0  # seconds; real Twitch waits about 5 min, shorter exercises clients more
ACCEPT_POLL = 0.25  # seconds accept() may block, so stop() is noticed
LOOP_GAP = 1.0  # seconds of log time between the end of the log and its replay from the top
ID_NAMESPACE = uuid.UUID("6f1f1c55-5b36-4c55-9d0b-9a8f0c1e2d3a")  # for per-loop message ids


@dataclass(frozen=True)
class LogEntry:
    """One replayable line and its offset in seconds from the log's first line."""

    offset: float
    msg: IRCMessage


def load_log(path: str | Path) -> list[LogEntry]:
    """Read a raw Twitch IRC log (plain or .gz) into replayable entries with their offsets.

    Offsets come from ``tmi-sent-ts`` and are made non-decreasing: Twitch stamps a few lines a
    few ms out of order, and a replay cannot send into the past.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    entries: list[LogEntry] = []
    first: float | None = None
    last = 0.0
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            try:
                msg = parse_line(line)
                sent = int(msg.tags["tmi-sent-ts"]) / 1000.0
            except (IRCParseError, KeyError, ValueError):
                continue
            if msg.command not in REPLAYED or not msg.params:
                continue
            first = sent if first is None else first
            last = max(last, sent - first)
            entries.append(LogEntry(last, msg))
    if not entries:
        raise ValueError(f"{path}: no replayable lines with tmi-sent-ts")
    return entries


@dataclass(eq=False)
class _Client:
    sock: socket.socket
    addr: tuple[str, int]
    nick: str | None = None
    password: str | None = None
    caps: set[str] = field(default_factory=set)
    channels: dict[str, threading.Event] = field(default_factory=dict)  # channel -> "stop replay"
    closed: threading.Event = field(default_factory=threading.Event)
    send_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def prefix(self) -> str:
        return f"{self.nick}!{self.nick}@{self.nick}.{SERVER_NAME}"


class TwitchIRCServer:
    """Serve Twitch-style chat on loopback; see the module docstring."""

    def __init__(
        self,
        log_path: str | Path,
        speed: float = 1.0,
        loop: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        ping_interval: float = PING_INTERVAL,
        head_starts: Mapping[str, float] | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        if ping_interval <= 0:
            raise ValueError(f"ping_interval must be > 0, got {ping_interval}")
        self.entries = load_log(log_path)
        # channel -> seconds of the log its replay skips, as if the channel had been live that
        # long before the client joined; others start at the log's first line.
        self.head_starts = dict(head_starts or {})
        self.speed, self.loop = speed, loop
        self.host, self._port = host, port
        self.ping_interval = ping_interval
        self.clients_joined = 0  # JOINs answered, counting rejoins after a reconnect
        self.pongs_received = 0
        self.messages_sent = 0
        self._listener: socket.socket | None = None
        self._clients: list[_Client] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        """The bound port (the real one once started with port=0)."""
        return self._port

    @property
    def clients(self) -> list[_Client]:
        with self._lock:
            return list(self._clients)

    def start(self) -> None:
        """Bind, listen and serve from background threads."""
        listener = socket.create_server((self.host, self._port))
        listener.settimeout(ACCEPT_POLL)
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._spawn(self._accept_loop, "irc-accept")
        self._spawn(self._ping_loop, "irc-ping")
        log.info("demo IRC server on %s:%d (speed %.3gx)", self.host, self._port, self.speed)

    def stop(self) -> None:
        """Disconnect everyone, close the listener and wait for the threads."""
        self._stopped.set()
        self.drop_clients()
        for thread in list(self._threads):
            if thread is not threading.current_thread():
                thread.join(2.0)
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def send_reconnect(self) -> None:
        """Tell every client to reconnect (Twitch's RECONNECT), then close them."""
        for client in self.clients:
            self._send(client, f":{SERVER_NAME} RECONNECT", last=True)
            self._close(client)

    def broadcast(self, line: str) -> None:
        """Send one raw line to every registered client (e.g. a NOTICE, in tests)."""
        for client in self.clients:
            if client.nick:
                self._send(client, line)

    def drop_clients(self) -> None:
        """Close every client connection without a word, like a network failure."""
        for client in self.clients:
            self._close(client)

    # -- plumbing ----------------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopped.is_set():
            try:
                sock, addr = self._listener.accept()
            except (TimeoutError, BlockingIOError):
                continue
            except OSError:
                return
            sock.setblocking(True)
            client = _Client(sock, addr)
            with self._lock:
                self._clients.append(client)
            self._spawn(self._client_loop, f"irc-client-{addr[1]}", client)

    def _ping_loop(self) -> None:
        while not self._stopped.wait(self.ping_interval):
            for client in self.clients:
                if client.nick:
                    self._send(client, f"PING :{SERVER_NAME}")

    def _client_loop(self, client: _Client) -> None:
        pending = b""
        try:
            while not client.closed.is_set():
                try:
                    chunk = client.sock.recv(8192)
                except OSError:
                    break
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    self._handle(client, raw.rstrip(b"\r").decode("utf-8", errors="replace"))
        finally:
            self._close(client)

    def _send(self, client: _Client, line: str, last: bool = False) -> bool:
        """Send one line; `last`: nothing may follow it (a replay thread waiting for the lock
        would otherwise slip a message in between RECONNECT and the close)."""
        try:
            with client.send_lock:
                if client.closed.is_set():  # checked under the lock: a closing client gets nothing more
                    return False
                client.sock.sendall(line.encode("utf-8") + b"\r\n")
                if last:
                    client.closed.set()
            return True
        except OSError:
            self._close(client)
            return False

    def _close(self, client: _Client) -> None:
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)
        client.closed.set()
        for stop in client.channels.values():
            stop.set()
        try:
            client.sock.shutdown(socket.SHUT_RDWR)  # wakes the reader blocked in recv()
        except OSError:
            pass
        with client.send_lock:  # never close under a sender's feet
            client.sock.close()

    # -- the Twitch dialect ------------------------------------------------------------------

    def _handle(self, client: _Client, line: str) -> None:
        if not line.strip():
            return
        try:
            msg = parse_line(line)
        except IRCParseError:
            return
        handler = getattr(self, f"_on_{msg.command.lower()}", None)
        if handler is not None:
            handler(client, msg)
        elif client.nick:
            self._send(client, f":{SERVER_NAME} 421 {client.nick} {msg.command} :Unknown command")

    def _on_cap(self, client: _Client, msg: IRCMessage) -> None:
        sub = msg.params[0].upper() if msg.params else ""
        if sub == "LS":
            self._send(client, f":{SERVER_NAME} CAP * LS :{' '.join(sorted(KNOWN_CAPS))}")
        elif sub == "REQ" and len(msg.params) >= 2:
            wanted = msg.params[-1].split()
            # IRCv3: a request is granted or refused as a whole.
            verdict = "ACK" if set(wanted) <= KNOWN_CAPS else "NAK"
            if verdict == "ACK":
                client.caps.update(wanted)
            self._send(client, f":{SERVER_NAME} CAP * {verdict} :{' '.join(wanted)}")

    def _on_pass(self, client: _Client, msg: IRCMessage) -> None:
        client.password = msg.params[-1] if msg.params else ""

    def _on_nick(self, client: _Client, msg: IRCMessage) -> None:
        nick = (msg.params[0] if msg.params else "").lower()
        anonymous = client.password is None and ANONYMOUS_NICK_RE.match(nick)
        # Any token is accepted: this server checks the form of a login, not credentials.
        authenticated = (client.password or "").startswith("oauth:") and NICK_RE.match(nick)
        if not (anonymous or authenticated):
            self._send(client, f":{SERVER_NAME} NOTICE * :Improperly formatted auth")
            self._close(client)
            return
        client.nick = nick
        welcome = [
            ("001", "Welcome, GLHF!"),
            ("002", f"Your host is {SERVER_NAME}"),
            ("003", "This server is rather new"),
            ("004", "-"),
            ("375", "-"),
            ("372", "You are in a maze of twisty passages, all alike."),
            ("376", ">"),
        ]
        for code, text in welcome:
            self._send(client, f":{SERVER_NAME} {code} {nick} :{text}")

    def _on_user(self, client: _Client, msg: IRCMessage) -> None:
        pass  # Twitch ignores USER; some IRC libraries send it anyway

    def _on_ping(self, client: _Client, msg: IRCMessage) -> None:
        token = msg.params[-1] if msg.params else SERVER_NAME
        self._send(client, f":{SERVER_NAME} PONG {SERVER_NAME} :{token}")

    def _on_pong(self, client: _Client, msg: IRCMessage) -> None:
        with self._lock:
            self.pongs_received += 1

    def _on_quit(self, client: _Client, msg: IRCMessage) -> None:
        self._close(client)

    def _on_join(self, client: _Client, msg: IRCMessage) -> None:
        if not client.nick or not msg.params:
            return
        for channel in msg.params[0].lower().split(","):
            name = channel.lstrip("#")
            if not channel.startswith("#") or not NICK_RE.match(name) or name in client.channels:
                continue
            self._join(client, name)

    def _join(self, client: _Client, channel: str) -> None:
        nick = client.nick
        # Counted before the reply goes out, so whoever reads 366 sees the join counted.
        stop = threading.Event()
        client.channels[channel] = stop
        with self._lock:
            self.clients_joined += 1
        self._send(client, f":{client.prefix} JOIN #{channel}")
        self._send(client, f":{nick}.{SERVER_NAME} 353 {nick} = #{channel} :{nick}")
        self._send(client, f":{nick}.{SERVER_NAME} 366 {nick} #{channel} :End of /NAMES list")
        if "twitch.tv/commands" in client.caps:
            state = "emote-only=0;followers-only=-1;r9k=0;room-id=71092938;slow=0;subs-only=0"
            tags = f"@{state} " if "twitch.tv/tags" in client.caps else ""
            self._send(client, f"{tags}:{SERVER_NAME} ROOMSTATE #{channel}")
        self._spawn(self._replay, f"irc-replay-{channel}", client, channel, stop)

    def _on_part(self, client: _Client, msg: IRCMessage) -> None:
        if not client.nick or not msg.params:
            return
        for channel in msg.params[0].lower().split(","):
            stop = client.channels.pop(channel.lstrip("#"), None)
            if stop is not None:
                stop.set()
                self._send(client, f":{client.prefix} PART {channel}")

    # -- replay ------------------------------------------------------------------------------

    def _replay(self, client: _Client, channel: str, stop: threading.Event) -> None:
        log_length = self.entries[-1].offset + LOOP_GAP
        skipped = self.head_starts.get(channel, 0.0) % log_length
        started = time.monotonic() - skipped / self.speed
        cycle = 0
        while True:
            for entry in self.entries:
                if cycle == 0 and entry.offset < skipped:
                    continue  # said before the client joined
                due = started + (cycle * log_length + entry.offset) / self.speed
                delay = due - time.monotonic()
                if (delay > 0 and stop.wait(delay)) or stop.is_set():
                    return
                line = self._rewrite(entry.msg, client, channel, cycle)
                if line is not None and self._send(client, line):
                    with self._lock:
                        self.messages_sent += 1
            if not self.loop:
                return
            cycle += 1

    def _rewrite(self, msg: IRCMessage, client: _Client, channel: str, cycle: int) -> str | None:
        if msg.command != "PRIVMSG" and "twitch.tv/commands" not in client.caps:
            return None  # Twitch sends moderation and sub events only with this capability
        tags: dict[str, str] = {}
        if "twitch.tv/tags" in client.caps:
            tags = dict(msg.tags)
            tags["tmi-sent-ts"] = str(int(time.time() * 1000))
            if cycle:  # each loop is new chat: fresh, stable ids, also where CLEARMSG points
                for key in ("id", "target-msg-id"):
                    if key in tags:
                        tags[key] = str(uuid.uuid5(ID_NAMESPACE, f"{tags[key]}/{cycle}"))
        params = [f"#{channel}", *msg.params[1:]]
        return format_line(replace(msg, tags=tags, params=params))
