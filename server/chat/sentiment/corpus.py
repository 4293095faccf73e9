"""The recorded #xqcow chat split in time: a training part to learn from and a held-out part.

The split is fixed by the project (docs/chat.md, "Quality"): every PRIVMSG of the log, in
Twitch's clock order (`tmi-sent-ts`, a stable sort so ties keep file order), moderation NOT
applied (a message later deleted was still written); the first 60 % by count is the training
part, the rest is held out for the independently labelled evaluation set and must never be read
while building the sentiment backend. `training_part` is the only door to the log that the
lexicon's training script uses, so it cannot see the held-out messages by accident.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from server.chat.irc import ChatMessage, IRCParseError, chat_message_from, parse_line

ROOT = Path(__file__).resolve().parents[3]
XQCOW_LOG = ROOT / "server" / "demo" / "media" / "xqcow-2019-09-15.irc.gz"
TRAINING_SHARE = 0.6


def privmsgs_in_time_order(path: Path) -> list[ChatMessage]:
    """Every PRIVMSG of a raw IRC log (gzip or plain), stably sorted by `tmi-sent-ts`."""
    opener = gzip.open if path.suffix == ".gz" else open
    messages: list[ChatMessage] = []
    with opener(path, "rt", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                chat = chat_message_from(parse_line(line.strip()))
            except IRCParseError:
                continue
            if chat is not None:
                messages.append(chat)
    return sorted(messages, key=lambda m: m.ts)  # sorted() is stable: ties keep file order


def split_point(count: int, share: float = TRAINING_SHARE) -> int:
    """How many of `count` time-ordered messages are training (the rest is held out)."""
    return int(count * share)


def training_part(path: Path = XQCOW_LOG, share: float = TRAINING_SHARE) -> list[ChatMessage]:
    """The first `share` of the log's messages in time order; the held-out rest is not returned."""
    messages = privmsgs_in_time_order(path)
    return messages[: split_point(len(messages), share)]
