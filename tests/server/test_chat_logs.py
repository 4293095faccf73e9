"""Reading recorded chat: raw IRC logs (moderation applied) and TwitchDownloader JSON."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from server.chat.logs import ChatLogError, read_chat_file

LOG = Path(__file__).resolve().parents[2] / "server" / "demo" / "media" / "xqcow-2019-09-15.irc.gz"


def test_the_real_irc_log_gives_messages_minus_the_banned_and_its_hype_events() -> None:
    chat = read_chat_file(LOG)
    assert chat.format == "irc" and chat.video_start == chat.messages[0].ts
    assert len(chat.messages) == 4800  # 4,933 PRIVMSG less the 133 that its 58 CLEARCHATs removed
    assert [m.ts for m in chat.messages] == sorted(m.ts for m in chat.messages)
    assert sorted({e.kind for e in chat.events}) == ["bits", "resub", "sub"]


def test_a_timed_out_users_messages_do_not_count(tmp_path: Path) -> None:
    log = tmp_path / "chat.irc"
    log.write_text(
        "@id=a1;tmi-sent-ts=1000 :alice!alice@a PRIVMSG #x :spam\n"
        "@id=b1;tmi-sent-ts=1001 :bob!bob@b PRIVMSG #x :hello\n"
        "@tmi-sent-ts=1002 :tmi.twitch.tv CLEARCHAT #x :alice\n"
        "@target-msg-id=b1;tmi-sent-ts=1003 :tmi.twitch.tv CLEARMSG #x :hello\n"
        "@id=a2;tmi-sent-ts=1004 :alice!alice@a PRIVMSG #x :back\n"
    )
    assert [m.id for m in read_chat_file(log).messages] == ["a2"]


def comment(i: int, offset: float, body: dict, name: str = "viewer") -> dict:
    return {
        "_id": f"c{i}",
        "content_offset_seconds": offset,
        "commenter": {"name": name, "display_name": name.title()},
        "message": body,
    }


def test_it_reads_twitchdownloader_json(tmp_path: Path) -> None:
    comments = [
        comment(
            1,
            12.5,
            {
                "body": "Kappa POGGERS",
                "fragments": [
                    {"text": "Kappa", "emoticon": {"emoticon_id": "25"}},
                    {"text": " POGGERS", "emoticon": None},
                ],
            },
        ),
        comment(0, 3.25, {"body": "hello", "fragments": [{"text": "hello", "emoticon": None}]}, "Alice"),
        comment(2, 20.0, {"body": "Cheer500 gg", "bits_spent": 500, "fragments": []}),
        comment(3, 21.0, {"body": "Bob subscribed at Tier 1.", "user_notice_params": {"msg-id": "sub"}}),
    ]
    path = tmp_path / "chat.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump({"streamer": {"name": "xqcow"}, "video": {"start": 0, "end": 60}, "comments": comments}, fh)
    chat = read_chat_file(path)
    assert (chat.format, chat.video_start) == ("twitchdownloader", 0.0)
    assert [(m.ts, m.user, m.text, m.emotes) for m in chat.messages] == [
        (3.25, "alice", "hello", []),
        (12.5, "viewer", "Kappa POGGERS", ["Kappa"]),
        (20.0, "viewer", "Cheer500 gg", []),
    ]
    assert [(e.kind, e.amount, e.ts) for e in chat.events] == [("bits", 500.0, 20.0), ("sub", 1.0, 21.0)]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        pytest.param("", "empty chat file", id="empty"),
        pytest.param('{"comments": 3}', "no 'comments' list", id="not-a-list"),
        pytest.param('{"comments": [{"message": {}}]}', "comment 0 is malformed", id="no-offset"),
        pytest.param(
            '{"comments": [{"content_offset_seconds": "NaN", "message": {}}]}',
            "comment 0 is malformed",
            id="nan-offset",
        ),
        pytest.param('{"comments": [', "not valid JSON", id="truncated"),
        pytest.param("just some text\nno irc here\n", "no Twitch IRC chat lines", id="plain-text"),
    ],
)
def test_broken_chat_files_are_clear_errors(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "chat.log"
    path.write_text(content)
    with pytest.raises(ChatLogError, match=match):
        read_chat_file(path)
