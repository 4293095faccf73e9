"""Pure IRCv3 parsing and formatting for Twitch chat; no sockets here.

Grammar: ``[@tags ][:source ]COMMAND[ params...][ :trailing]`` (IRCv3 message-tags spec).
Twitch's ``emotes`` tag gives ranges that index Unicode code points of the text, which is what a
Python ``str`` indexes, so slicing the decoded text is correct even with emoji before an emote.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

_COMMAND_RE = re.compile(r"^(?:[A-Za-z]+|\d{3})$")
_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPES = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}
_ACTION_PREFIX = "\x01ACTION "


class IRCParseError(ValueError):
    """Raised by `parse_line` when a line is not an IRC message (empty, no command, bad tag)."""


@dataclass(frozen=True)
class Source:
    """The ``nick!user@host`` prefix; a server prefix has only `nick` (e.g. ``tmi.twitch.tv``)."""

    nick: str
    user: str | None = None
    host: str | None = None

    def __str__(self) -> str:
        text = self.nick
        if self.user is not None:
            text += f"!{self.user}"
        if self.host is not None:
            text += f"@{self.host}"
        return text


@dataclass
class IRCMessage:
    """One parsed IRC line."""

    command: str
    params: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    source: Source | None = None


@dataclass
class ChatMessage:
    """A chat line as the rest of the server sees it; `ts` is epoch seconds (Twitch's clock)."""

    id: str
    ts: float
    user: str
    text: str
    emotes: list[str] = field(default_factory=list)
    channel: str = ""


# USERNOTICE msg-ids that are money or viewers arriving; everything else (announcements, ritual,
# bitsbadgetier, ...) is not a reaction to the stream and is ignored.
SUB_KINDS = frozenset({"sub", "resub", "subgift", "anonsubgift", "submysterygift", "anonsubmysterygift"})
HYPE_KINDS = SUB_KINDS | {"raid", "bits"}


@dataclass(frozen=True)
class HypeEvent:
    """A subscription, gifted subs, a raid or a cheer, with its size.

    `amount` is in the event's own unit: subscriptions for sub kinds (a mystery gift of 20 is
    20), viewers for a raid, bits for a cheer. Weighting them against each other is a feature
    decision (`server.features.chat.hype_points`), not a parsing one.
    """

    id: str
    ts: float
    kind: str
    amount: float
    user: str = ""


def unescape_tag_value(raw: str) -> str:
    """Undo IRCv3 tag escaping; an unknown escape yields the char, a trailing lone ``\\`` nothing."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    chars = iter(raw)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        following = next(chars, "")
        out.append(_UNESCAPES.get(following, following))
    return "".join(out)


def escape_tag_value(value: str) -> str:
    """Apply IRCv3 tag escaping (inverse of `unescape_tag_value`)."""
    return "".join(_ESCAPES.get(char, char) for char in value)


def _parse_tags(raw: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in raw.split(";"):
        if not item:
            continue  # "a=1;;b=2" and a trailing ";" are tolerated by real servers
        key, _, value = item.partition("=")
        if not key or " " in key:
            raise IRCParseError(f"bad tag {item!r}")
        tags[key] = unescape_tag_value(value)
    return tags


def _parse_source(raw: str) -> Source:
    if not raw:
        raise IRCParseError("empty source prefix")
    rest, _, host = raw.partition("@")
    nick, _, user = rest.partition("!")
    if not nick:
        raise IRCParseError(f"bad source {raw!r}")
    return Source(nick, user or None, host or None)


def parse_line(line: str) -> IRCMessage:
    """Parse one IRC line (with or without its CRLF) into an `IRCMessage`."""
    rest = line.rstrip("\r\n")
    if "\x00" in rest or "\r" in rest or "\n" in rest:
        raise IRCParseError("NUL or line break inside a line")
    tags: dict[str, str] = {}
    source: Source | None = None
    if rest.startswith("@"):
        raw_tags, _, rest = rest[1:].partition(" ")
        tags = _parse_tags(raw_tags)
        rest = rest.lstrip(" ")
    if rest.startswith(":"):
        raw_source, _, rest = rest[1:].partition(" ")
        source = _parse_source(raw_source)
        rest = rest.lstrip(" ")
    rest, has_trailing, trailing = rest.partition(" :")
    words = rest.split()
    if not words or not _COMMAND_RE.match(words[0]):
        raise IRCParseError(f"no valid command in {line!r}")
    params = words[1:]
    if has_trailing:
        params.append(trailing)
    return IRCMessage(command=words[0].upper(), params=params, tags=tags, source=source)


def format_line(msg: IRCMessage) -> str:
    """Serialize `msg` to one line without CRLF.

    The last of two or more params is always sent as trailing (``PRIVMSG #c :hi``), as Twitch
    does; a lone param only when it must be (``JOIN #c``), so replayed lines round-trip exactly.
    """
    parts: list[str] = []
    if msg.tags:
        body = ";".join(f"{key}={escape_tag_value(value)}" for key, value in msg.tags.items())
        parts.append(f"@{body}")
    if msg.source is not None:
        parts.append(f":{msg.source}")
    parts.append(msg.command)
    if msg.params:
        *middle, last = msg.params
        parts.extend(middle)
        needs_colon = bool(middle) or not last or " " in last or last.startswith(":")
        parts.append(f":{last}" if needs_colon else last)
    return " ".join(parts)


def resolve_emotes(text: str, emotes_tag: str) -> list[str]:
    """Return the emote substrings named by an ``emotes`` tag, in text order.

    The tag looks like ``25:0-4,12-16/1902:6-10``; malformed or out-of-range parts are skipped
    rather than raised, because a bad tag should cost one message its emotes, not the stream.
    """
    spans: list[tuple[int, int]] = []
    for group in filter(None, emotes_tag.split("/")):
        _, _, ranges = group.partition(":")
        for span in filter(None, ranges.split(",")):
            start_s, _, end_s = span.partition("-")
            try:
                start, end = int(start_s), int(end_s)
            except ValueError:
                continue
            if 0 <= start <= end < len(text):
                spans.append((start, end))
    return [text[start : end + 1] for start, end in sorted(spans)]


def chat_message_from(msg: IRCMessage) -> ChatMessage | None:
    """Turn a PRIVMSG into a `ChatMessage`; anything else gives None."""
    if msg.command != "PRIVMSG" or len(msg.params) < 2:
        return None
    text = msg.params[1]
    # A /me message arrives wrapped in CTCP ACTION; Twitch's emote ranges index the inner text.
    if text.startswith(_ACTION_PREFIX):
        text = text[len(_ACTION_PREFIX) :].rstrip("\x01")
    user = msg.tags.get("login") or (msg.source.nick if msg.source else "")
    return ChatMessage(
        id=msg.tags.get("id") or uuid.uuid4().hex,
        ts=_sent_ts(msg),
        user=user.lower(),
        text=text,
        emotes=resolve_emotes(text, msg.tags.get("emotes", "")),
        channel=msg.params[0].lstrip("#").lower(),
    )


def _sent_ts(msg: IRCMessage) -> float:
    # Without the tags capability there is no server clock; the arrival time is the best we have.
    raw = msg.tags.get("tmi-sent-ts", "")
    try:
        return int(raw) / 1000.0
    except ValueError:
        return time.time()


def hype_event_from(msg: IRCMessage) -> HypeEvent | None:
    """Turn a sub/gift/raid USERNOTICE or a PRIVMSG with bits into a `HypeEvent`; else None.

    The single ``subgift`` lines that Twitch sends after a ``submysterygift`` carry
    ``msg-param-community-gift-id``; they are the same gifts again and are skipped, so a gift
    bomb of N counts N subscriptions once.
    """
    tags = msg.tags
    user = (tags.get("login") or (msg.source.nick if msg.source else "")).lower()
    event_id = tags.get("id") or uuid.uuid4().hex
    if msg.command == "PRIVMSG":
        bits = _positive_number(tags.get("bits", ""))
        return HypeEvent(event_id, _sent_ts(msg), "bits", bits, user) if bits else None
    if msg.command != "USERNOTICE":
        return None
    kind = tags.get("msg-id", "")
    if kind not in HYPE_KINDS or (kind.endswith("subgift") and tags.get("msg-param-community-gift-id")):
        return None
    if kind == "raid":
        amount = _positive_number(tags.get("msg-param-viewerCount", ""))
    elif kind.endswith("submysterygift"):
        amount = _positive_number(tags.get("msg-param-mass-gift-count", "")) or 1.0
    else:
        amount = 1.0
    return HypeEvent(event_id, _sent_ts(msg), kind, amount, user)


def _positive_number(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        return 0.0
    return value if value > 0 and value == value and value != float("inf") else 0.0
