"""A Twitch IRC client that keeps one channel's chat flowing into a `ChatBuffer`.

It runs in its own daemon thread and never raises into the caller: problems show up in `state`
and `last_error`. Transient failures (RECONNECT, EOF, socket errors, silence) reconnect with
exponential backoff; only a ban, a suspended channel or refused credentials stop it for good.
"""

from __future__ import annotations

import logging
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator

from backoff import backoff_delays

from .buffer import ChatBuffer
from .irc import IRCMessage, IRCParseError, chat_message_from, hype_event_from, parse_line

log = logging.getLogger(__name__)

CHANNEL_RE = re.compile(r"^[a-z0-9_]{1,25}$")
CAPABILITIES = "twitch.tv/tags twitch.tv/commands"
BACKOFF_INITIAL = 1.0  # seconds before the first retry
BACKOFF_MAX = 60.0  # seconds; the doubling stops here
POLL_INTERVAL = 0.25  # seconds a recv may block, so stop() is noticed quickly
IDLE_TIMEOUT = 360.0  # seconds without a byte; Twitch PINGs about every 5 min
MAX_LINE = 64 * 1024  # bytes; Twitch lines are < 8 KiB, more means a broken peer
# NOTICE msg-ids (or texts, for the login failures that carry none) that retrying cannot fix.
FATAL_NOTICE_IDS = frozenset({"msg_channel_suspended", "msg_banned"})
FATAL_NOTICE_TEXTS = frozenset({"Login authentication failed", "Improperly formatted auth"})

STATES = ("connecting", "joined", "disconnected", "error")


class _Reconnect(Exception):
    """Internal: the session ended in a way that a new connection may fix."""


class _Fatal(Exception):
    """Internal: the server refused us for good; stop retrying."""


class TwitchChatClient:
    """Read one channel's chat into `buffer` from its own thread; see `start()` and `stop()`."""

    def __init__(
        self,
        channel: str,
        buffer: ChatBuffer,
        host: str = "irc.chat.twitch.tv",
        port: int = 6697,
        tls: bool = True,
        nick: str | None = None,
        token: str | None = None,
        *,
        backoff_initial: float = BACKOFF_INITIAL,
        backoff_max: float = BACKOFF_MAX,
        connect_timeout: float = 10.0,
        idle_timeout: float = IDLE_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.channel = channel.lstrip("#").lower()
        if not CHANNEL_RE.match(self.channel):
            raise ValueError(f"not a Twitch channel name: {channel!r}")
        if token and not nick:
            raise ValueError("a token needs the nick (login) it was issued to")
        self.buffer = buffer
        self.host, self.port, self.tls = host, port, tls
        if nick and not token:
            # Twitch lets only justinfan<digits> in without a token; any other nick is refused.
            log.info("chat #%s: no token, so joining anonymously instead of as %s", channel, nick)
        anonymous = f"justinfan{random.randint(10000, 99999)}"
        self.nick = (nick if token and nick else anonymous).lower()
        self._token = token.removeprefix("oauth:") if token else None
        self.backoff_initial, self.backoff_max = backoff_initial, backoff_max
        self.connect_timeout, self.idle_timeout = connect_timeout, idle_timeout
        self._ssl_context = ssl_context
        self.state = "disconnected"
        self.last_error: str | None = None
        self.messages_received = 0
        self.events_received = 0  # subs, gifts, raids, cheers
        self.connects = 0  # successful JOINs, so tests and status can see reconnects
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:  # no token here, ever
        return f"<TwitchChatClient #{self.channel} {self.host}:{self.port} {self.state}>"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the reader thread (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"twitch-chat-{self.channel}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Close the connection and wait up to `timeout` s for the thread to end."""
        self._stop.set()
        sock = self._sock
        if sock is not None and not isinstance(sock, ssl.SSLSocket):
            # Wakes a blocked recv at once; TLS sockets rely on the short poll instead, since
            # shutting one down under a reading thread is not safe.
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the reader thread to end."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- connection loop ---------------------------------------------------------------------

    def _run(self) -> None:
        delays = self._new_delays()
        while not self._stop.is_set():
            self.state = "connecting"
            try:
                self._session()
            except _Fatal as exc:
                self.state, self.last_error = "error", str(exc)
                log.error("chat #%s: %s; not retrying", self.channel, exc)
                return
            except (_Reconnect, OSError, ssl.SSLError) as exc:
                self.last_error = str(exc) or type(exc).__name__
            except Exception as exc:  # a bug here must not kill chat for the whole stream
                log.exception("chat #%s: unexpected error", self.channel)
                self.last_error = f"{type(exc).__name__}: {exc}"
            finally:
                self._close()
            if self._stop.is_set():
                break
            if self.state == "joined":
                delays = self._new_delays()  # the last session worked; start over at 1 s
            self.state = "disconnected"
            delay = next(delays)
            log.warning("chat #%s: %s; reconnecting in %.1f s", self.channel, self.last_error, delay)
            self._stop.wait(delay)
        if self.state != "error":
            self.state = "disconnected"

    def _new_delays(self) -> Iterator[float]:
        # +-20 % jitter: many workers that lost Twitch at the same moment must not return in step.
        return backoff_delays(self.backoff_initial, self.backoff_max, jitter=0.2)

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        if self.tls:
            context = self._ssl_context or ssl.create_default_context()
            try:
                sock = context.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
        sock.settimeout(POLL_INTERVAL)
        return sock

    def _session(self) -> None:
        self._sock = self._connect()
        if self._stop.is_set():
            return
        log.info("chat #%s: connected to %s:%d as %s", self.channel, self.host, self.port, self.nick)
        self._send(f"CAP REQ :{CAPABILITIES}")
        if self._token:
            self._send(f"PASS oauth:{self._token}", secret=True)
        self._send(f"NICK {self.nick}")
        for line in self._lines():
            self._handle_line(line)

    def _lines(self) -> Iterator[str]:
        assert self._sock is not None
        pending = b""
        last_data = time.monotonic()
        while not self._stop.is_set():
            try:
                chunk = self._sock.recv(16384)
            except (TimeoutError, ssl.SSLWantReadError):
                if time.monotonic() - last_data > self.idle_timeout:
                    raise _Reconnect(f"no data for {self.idle_timeout:.0f} s") from None
                continue
            if not chunk:
                raise _Reconnect("connection closed by server")
            last_data = time.monotonic()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if len(pending) > MAX_LINE:
                raise _Reconnect("line too long")
            for raw in lines:
                yield raw.rstrip(b"\r").decode("utf-8", errors="replace")

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def _send(self, line: str, secret: bool = False) -> None:
        if not secret:
            log.debug("chat #%s > %s", self.channel, line)
        sock = self._sock
        if sock is None:
            raise _Reconnect("not connected")
        with self._send_lock:
            sock.sendall(line.encode("utf-8") + b"\r\n")

    # -- message handling --------------------------------------------------------------------

    def _handle_line(self, line: str) -> None:
        if not line:
            return
        try:
            msg = parse_line(line)
        except IRCParseError as exc:
            log.debug("chat #%s: skipping unparsable line: %s", self.channel, exc)
            return
        handler = getattr(self, f"_on_{msg.command.lower()}", None)
        if handler is not None:
            handler(msg)

    def _on_001(self, msg: IRCMessage) -> None:
        self._send(f"JOIN #{self.channel}")

    def _on_ping(self, msg: IRCMessage) -> None:
        self._send(f"PONG :{msg.params[-1] if msg.params else 'tmi.twitch.tv'}")

    def _on_join(self, msg: IRCMessage) -> None:
        if msg.source and msg.source.nick.lower() == self.nick and self._is_ours(msg):
            self.state = "joined"
            self.last_error = None
            self.connects += 1
            log.info("chat #%s: joined", self.channel)

    def _on_reconnect(self, msg: IRCMessage) -> None:
        raise _Reconnect("server asked to reconnect")

    def _on_privmsg(self, msg: IRCMessage) -> None:
        chat = chat_message_from(msg)
        if chat is not None and self._is_ours(msg):
            self.buffer.add(chat)
            self.messages_received += 1
            self._on_hype(msg)  # a cheer is a message and a bits event

    def _on_usernotice(self, msg: IRCMessage) -> None:
        if self._is_ours(msg):
            self._on_hype(msg)

    def _on_hype(self, msg: IRCMessage) -> None:
        event = hype_event_from(msg)
        if event is not None:
            self.buffer.add_event(event)
            self.events_received += 1

    def _on_clearchat(self, msg: IRCMessage) -> None:
        if not self._is_ours(msg):
            return
        before = _tag_ts(msg)
        if len(msg.params) >= 2 and msg.params[1]:
            self.buffer.clear_user(msg.params[1], before)
        else:
            self.buffer.clear_all(before)

    def _on_clearmsg(self, msg: IRCMessage) -> None:
        target = msg.tags.get("target-msg-id")
        if target and self._is_ours(msg):
            self.buffer.remove(target)

    def _on_notice(self, msg: IRCMessage) -> None:
        text = msg.params[-1] if msg.params else ""
        msg_id = msg.tags.get("msg-id", "")
        if msg_id in FATAL_NOTICE_IDS or text in FATAL_NOTICE_TEXTS:
            raise _Fatal(f"{msg_id or 'notice'}: {text}")
        log.info("chat #%s: notice %s: %s", self.channel, msg_id or "-", text)

    def _is_ours(self, msg: IRCMessage) -> bool:
        return bool(msg.params) and msg.params[0].lstrip("#").lower() == self.channel


def _tag_ts(msg: IRCMessage) -> float:
    # The server's own clock is comparable with the messages' tmi-sent-ts; ours may be skewed.
    try:
        return int(msg.tags["tmi-sent-ts"]) / 1000.0
    except (KeyError, ValueError):
        return time.time()
