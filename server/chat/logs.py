"""Read recorded chat for VOD analysis: raw Twitch IRC logs and TwitchDownloader JSON.

Both give a `ChatLog`: messages and hype events on one clock, plus `video_start`, the time on
that clock where the recording starts (IRC logs carry Twitch's epoch `tmi-sent-ts`, so the best
guess is the first message; TwitchDownloader already counts seconds from the VOD's start, 0).
Moderation in an IRC log (CLEARCHAT, CLEARMSG) is applied, so deleted messages do not count.
"""

from __future__ import annotations

import gzip
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from server.chat.buffer import ChatBuffer
from server.chat.irc import (
    SUB_KINDS,
    ChatMessage,
    HypeEvent,
    IRCParseError,
    chat_message_from,
    hype_event_from,
    parse_line,
)


class ChatLogError(ValueError):
    """Raised when a chat file is neither a Twitch IRC log nor a TwitchDownloader JSON, or is broken."""


@dataclass
class ChatLog:
    messages: list[ChatMessage] = field(default_factory=list)
    events: list[HypeEvent] = field(default_factory=list)
    video_start: float = 0.0
    format: str = "irc"


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return path.open("r", encoding="utf-8", errors="replace")


def read_chat_file(path: Path) -> ChatLog:
    """Read `path` (optionally gzipped), telling the format from its first non-blank character."""
    with _open(path) as fh:
        head = fh.read(4096).lstrip()
    if not head:
        raise ChatLogError(f"{path}: empty chat file")
    if head.startswith("{"):
        return read_twitchdownloader_json(path)
    return read_irc_log(path)


def read_irc_log(path: Path) -> ChatLog:
    """Messages and hype events of a raw IRC log, moderation applied; unparsable lines skipped."""
    buffer = ChatBuffer(max_messages=10_000_000)
    events: list[HypeEvent] = []
    with _open(path) as lines:
        for line in lines:
            try:
                msg = parse_line(line.strip())
            except IRCParseError:
                continue
            chat = chat_message_from(msg)
            if chat is not None:
                buffer.add(chat)
            event = hype_event_from(msg)
            if event is not None:
                events.append(event)
            _moderate(buffer, msg)
    messages = buffer.window(float("-inf"), float("inf"))
    if not messages and not events:
        raise ChatLogError(f"{path}: no Twitch IRC chat lines (PRIVMSG/USERNOTICE) found")
    return ChatLog(messages, sorted(events, key=lambda e: e.ts), messages[0].ts if messages else events[0].ts, "irc")


def _moderate(buffer: ChatBuffer, msg: Any) -> None:
    if msg.command == "CLEARCHAT":
        before = int(msg.tags["tmi-sent-ts"]) / 1000.0 if msg.tags.get("tmi-sent-ts", "").isdigit() else None
        if len(msg.params) >= 2 and msg.params[1]:
            buffer.clear_user(msg.params[1], before)
        else:
            buffer.clear_all(before)
    elif msg.command == "CLEARMSG" and msg.tags.get("target-msg-id"):
        buffer.remove(msg.tags["target-msg-id"])


def read_twitchdownloader_json(path: Path) -> ChatLog:
    """A TwitchDownloader chat JSON (`comments[]` with `content_offset_seconds`, `commenter`,
    `message.body`, `message.fragments[].emoticon`, `message.bits_spent`,
    `message.user_notice_params["msg-id"]`); times are seconds from the VOD's start."""
    try:
        with _open(path) as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise ChatLogError(f"{path}: not valid JSON ({exc})") from exc
    comments = data.get("comments") if isinstance(data, dict) else None
    if not isinstance(comments, list):
        raise ChatLogError(f"{path}: no 'comments' list; is this a TwitchDownloader chat JSON?")
    log = ChatLog(video_start=0.0, format="twitchdownloader")
    for i, comment in enumerate(comments):
        try:
            message, event = _from_comment(comment)
        except (KeyError, TypeError, ValueError) as exc:
            raise ChatLogError(f"{path}: comment {i} is malformed ({type(exc).__name__}: {exc})") from exc
        if message is not None:
            log.messages.append(message)
        if event is not None:
            log.events.append(event)
    log.messages.sort(key=lambda m: m.ts)
    log.events.sort(key=lambda e: e.ts)
    return log


def _from_comment(comment: dict) -> tuple[ChatMessage | None, HypeEvent | None]:
    ts = float(comment["content_offset_seconds"])
    if ts != ts or ts in (float("inf"), float("-inf")):
        raise ValueError("content_offset_seconds is not a finite number")
    commenter = comment.get("commenter") or {}
    user = str(commenter.get("name") or commenter.get("display_name") or "").lower()
    body = comment["message"]
    text = str(body.get("body", ""))
    msg_id = str(comment.get("_id") or uuid.uuid4().hex)
    emotes = [str(f.get("text", "")) for f in body.get("fragments") or [] if f.get("emoticon")]
    notice = (body.get("user_notice_params") or {}).get("msg-id") or ""
    event = None
    if notice in SUB_KINDS or notice == "raid":
        event = HypeEvent(msg_id, ts, notice, 1.0, user)
    elif int(body.get("bits_spent") or 0) > 0:
        event = HypeEvent(msg_id, ts, "bits", float(body["bits_spent"]), user)
    if notice:  # a sub notice's body is Twitch's system text, not a viewer's message
        return None, event
    return ChatMessage(msg_id, ts, user, text, [e for e in emotes if e], ""), event
