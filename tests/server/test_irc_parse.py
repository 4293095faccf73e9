from __future__ import annotations

import gzip
from collections import defaultdict
from pathlib import Path

import pytest
from shared_data import SHARED_DATA

from server.chat.irc import (
    ChatMessage,
    HypeEvent,
    IRCMessage,
    IRCParseError,
    Source,
    chat_message_from,
    escape_tag_value,
    format_line,
    hype_event_from,
    parse_line,
    resolve_emotes,
    unescape_tag_value,
)

REPO_LOG = Path(__file__).resolve().parents[2] / "server/demo/media/xqcow-2019-09-15.irc.gz"
SHARED_LOG = SHARED_DATA / "twitch-chat" / "xqcow-2019-09-15.irc.gz"


@pytest.fixture(scope="module")
def real_log_lines() -> list[str]:
    for path in (REPO_LOG, SHARED_LOG):
        if path.is_file():
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                return fh.read().splitlines()
    pytest.skip(f"real Twitch chat log not found at {REPO_LOG} nor {SHARED_LOG}")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("plain", "plain", id="no-escapes"),
        pytest.param("a\\:b", "a;b", id="semicolon"),
        pytest.param("a\\sb", "a b", id="space"),
        pytest.param("a\\\\b", "a\\b", id="backslash"),
        pytest.param("a\\rb", "a\rb", id="cr"),
        pytest.param("a\\nb", "a\nb", id="lf"),
        pytest.param("ab\\", "ab", id="trailing-lone-backslash-dropped"),
        pytest.param("a\\bc", "abc", id="unknown-escape-keeps-char"),
        pytest.param("\\\\s", "\\s", id="escaped-backslash-then-s"),
        pytest.param("\\:\\s\\\\\\r\\n", "; \\\r\n", id="all-in-a-row"),
        pytest.param("", "", id="empty"),
        pytest.param("Channel\\sSubscription\\s(xqcow)", "Channel Subscription (xqcow)", id="twitch"),
    ],
)
def test_it_unescapes_tag_values(raw: str, expected: str) -> None:
    assert unescape_tag_value(raw) == expected


@pytest.mark.parametrize("value", ["a;b c\\d\re\nf", "", "\\", "plain"])
def test_escaping_round_trips(value: str) -> None:
    assert unescape_tag_value(escape_tag_value(value)) == value


def test_it_parses_tags_including_valueless_and_empty_ones() -> None:
    msg = parse_line("@a=1;b=;c;d=x\\sy :tmi.twitch.tv NOTICE * :hi")
    assert msg.tags == {"a": "1", "b": "", "c": "", "d": "x y"}


@pytest.mark.parametrize(
    ("line", "source", "command", "params"),
    [
        pytest.param(
            ":nick!user@host PRIVMSG #chan :hello there :)",
            Source("nick", "user", "host"), "PRIVMSG", ["#chan", "hello there :)"],
            id="full-source-trailing-with-colon",
        ),
        pytest.param(
            ":tmi.twitch.tv 001 justinfan1 :Welcome, GLHF!",
            Source("tmi.twitch.tv"), "001", ["justinfan1", "Welcome, GLHF!"], id="numeric",
        ),
        pytest.param("PING :tmi.twitch.tv", None, "PING", ["tmi.twitch.tv"], id="no-source"),
        pytest.param(
            ":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands",
            Source("tmi.twitch.tv"), "CAP", ["*", "ACK", "twitch.tv/tags twitch.tv/commands"],
            id="cap-ack",
        ),
        pytest.param(
            ":a!a@a.tmi.twitch.tv JOIN #chan", Source("a", "a", "a.tmi.twitch.tv"), "JOIN",
            ["#chan"], id="no-trailing",
        ),
        pytest.param(
            ":tmi.twitch.tv CLEARCHAT #chan :", Source("tmi.twitch.tv"), "CLEARCHAT",
            ["#chan", ""], id="empty-trailing",
        ),
        pytest.param("reconnect", None, "RECONNECT", [], id="lowercase-command-no-params"),
        pytest.param(":n@h QUIT", Source("n", None, "h"), "QUIT", [], id="nick-at-host"),
        pytest.param("PRIVMSG  #a   b\r\n", None, "PRIVMSG", ["#a", "b"], id="extra-spaces-crlf"),
    ],
)  # fmt: skip
def test_it_parses_source_and_params(line: str, source: Source | None, command: str, params: list[str]) -> None:
    msg = parse_line(line)
    assert (msg.source, msg.command, msg.params) == (source, command, params)


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("@a=1", id="tags-only"),
        pytest.param(":source", id="source-only"),
        pytest.param("@a=1 :source", id="tags-and-source-only"),
        pytest.param(":src 12 x", id="two-digit-numeric"),
        pytest.param(":src PRIV-MSG x", id="punctuation-in-command"),
        pytest.param("@=x :src PING", id="empty-tag-key"),
        pytest.param(": PING", id="empty-source"),
        pytest.param(":src :trailing-without-command", id="trailing-without-command"),
        pytest.param("PING \x00", id="nul"),
        pytest.param("\x16\x03\x01\x02\x00", id="tls-handshake-bytes"),
    ],
)
def test_it_rejects_garbage(line: str) -> None:
    with pytest.raises(IRCParseError):
        parse_line(line)


def test_format_line_round_trips_twitch_shapes() -> None:
    for line in [
        "@badge-info=;emotes=25:0-4 :a!a@a.tmi.twitch.tv PRIVMSG #c :Kappa hi",
        ":tmi.twitch.tv CLEARCHAT #c :user",
        "@msg-id=sub;system-msg=x\\sy :tmi.twitch.tv USERNOTICE #c",
        ":a!a@a.tmi.twitch.tv JOIN #c",
    ]:
        assert format_line(parse_line(line)) == line


@pytest.mark.parametrize(
    ("text", "tag", "expected"),
    [
        pytest.param("Kappa hi Kappa", "25:0-4,9-13", ["Kappa", "Kappa"], id="one-id-twice"),
        pytest.param("a Kappa Keepo", "1902:8-12/25:2-6", ["Kappa", "Keepo"], id="text-order"),
        # With UTF-16 indexing (as in JavaScript) these would be off by one per astral emoji.
        pytest.param("🔭 elina1 I C", "300:2-7", ["elina1"], id="astral-emoji-before"),
        pytest.param("👌👌 Kappa 👌 Kappa", "25:3-7,11-15", ["Kappa", "Kappa"], id="emoji-between"),
        pytest.param("Kappa", "", [], id="empty-tag"),
        pytest.param("Kappa", "25:0-99", [], id="out-of-range-skipped"),
        pytest.param("Kappa", "25:x-y", [], id="malformed-skipped"),
    ],
)
def test_it_resolves_emote_ranges_by_code_point(text: str, tag: str, expected: list[str]) -> None:
    assert resolve_emotes(text, tag) == expected


def test_chat_message_from_privmsg() -> None:
    msg = parse_line(
        "@emotes=25:9-13;id=abc;tmi-sent-ts=1568505600501 "
        ":onche!onche@onche.tmi.twitch.tv PRIVMSG #XQCOW :hi there Kappa"
    )
    assert chat_message_from(msg) == ChatMessage(
        id="abc", ts=1568505600.501, user="onche", text="hi there Kappa", emotes=["Kappa"],
        channel="xqcow",
    )  # fmt: skip


def test_chat_message_from_unwraps_me_actions_before_resolving_emotes() -> None:
    msg = parse_line("@emotes=25:4-8 :a!a@a PRIVMSG #c :\x01ACTION hug Kappa\x01")
    chat = chat_message_from(msg)
    assert chat is not None and (chat.text, chat.emotes) == ("hug Kappa", ["Kappa"])


def test_chat_message_from_ignores_everything_but_privmsg() -> None:
    assert chat_message_from(parse_line(":tmi.twitch.tv CLEARCHAT #c :user")) is None
    assert chat_message_from(IRCMessage("PRIVMSG", ["#c"])) is None


def test_every_line_of_the_real_log_parses_and_round_trips(real_log_lines: list[str]) -> None:
    commands: set[str] = set()
    for line in real_log_lines:
        msg = parse_line(line)
        commands.add(msg.command)
        assert format_line(msg) == line
    assert {"PRIVMSG", "CLEARCHAT", "USERNOTICE"} <= commands


def test_every_emote_range_of_the_real_log_resolves(real_log_lines: list[str]) -> None:
    seen_by_id: dict[str, set[str]] = defaultdict(set)
    astral_with_emotes = 0
    for line in real_log_lines:
        msg = parse_line(line)
        chat = chat_message_from(msg)
        if chat is None:
            continue
        assert chat.ts > 1.5e9 and chat.user and chat.id
        for group in filter(None, msg.tags.get("emotes", "").split("/")):
            emote_id, _, ranges = group.partition(":")
            for span in ranges.split(","):
                start, end = (int(x) for x in span.split("-"))
                seen_by_id[emote_id].add(chat.text[start : end + 1])
        assert all(e and " " not in e for e in chat.emotes), line
        astral_with_emotes += bool(chat.emotes) and any(ord(c) > 0xFFFF for c in chat.text)
    # Every id names one emote, so each must always resolve to the same word.
    assert {k: v for k, v in seen_by_id.items() if len(v) != 1} == {}
    assert sum(len(v) for v in seen_by_id.values()) > 100
    assert astral_with_emotes > 0  # the log really exercises code-point indexing


# --- the ircdocs parser test vectors (PyPI irc-parser-tests, CC0) ------------------------------


def _ircdocs(name: str) -> list[dict]:
    vectors = pytest.importorskip("parser_tests.data", reason="irc-parser-tests not installed")
    return getattr(vectors, name)["tests"]


def _atoms(msg: IRCMessage) -> dict:
    return {
        "tags": msg.tags,
        "source": str(msg.source) if msg.source else None,
        "verb": msg.command,
        "params": msg.params,
    }


@pytest.mark.parametrize("case", _ircdocs("msg_split"), ids=lambda case: case["input"][:60])
def test_it_splits_every_ircdocs_vector(case: dict) -> None:
    atoms = case["atoms"]
    # IRC commands are case-insensitive; this parser upper-cases them, the vectors keep the case.
    expected = {
        "tags": atoms.get("tags") or {},
        "source": atoms.get("source"),
        "verb": atoms["verb"].upper(),
        "params": atoms.get("params", []),
    }
    assert _atoms(parse_line(case["input"])) == expected


@pytest.mark.parametrize("case", _ircdocs("msg_join"), ids=lambda case: case["desc"])
def test_every_ircdocs_join_vector_formats_to_an_equivalent_line(case: dict) -> None:
    atoms = case["atoms"]
    source = parse_line(f":{atoms['source']} X").source if atoms.get("source") else None
    msg = IRCMessage(atoms["verb"], list(atoms.get("params", [])), dict(atoms.get("tags") or {}), source)
    line = format_line(msg)
    # `key=` and `key` mean the same; Twitch sends `emotes=`, so this formatter keeps the `=`.
    assert _atoms(parse_line(line)) == _atoms(parse_line(case["matches"][0]))


# --- hype events: subs, gifts, raids, bits -----------------------------------------------------

SUB_TAGS = "badge-info=;id=e1;login=keifele;tmi-sent-ts=1568505600000"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(f"@{SUB_TAGS};msg-id=sub :tmi.twitch.tv USERNOTICE #xqcow",
                     HypeEvent("e1", 1568505600.0, "sub", 1.0, "keifele"), id="sub"),
        pytest.param(f"@{SUB_TAGS};msg-id=resub :tmi.twitch.tv USERNOTICE #xqcow :13 months LUL",
                     HypeEvent("e1", 1568505600.0, "resub", 1.0, "keifele"), id="resub-with-message"),
        pytest.param(f"@{SUB_TAGS};msg-id=subgift;msg-param-recipient-user-name=bob :tmi.twitch.tv USERNOTICE #xqcow",
                     HypeEvent("e1", 1568505600.0, "subgift", 1.0, "keifele"), id="single-gift"),
        pytest.param(f"@{SUB_TAGS};msg-id=submysterygift;msg-param-mass-gift-count=20 :tmi.twitch.tv USERNOTICE #xqcow",
                     HypeEvent("e1", 1568505600.0, "submysterygift", 20.0, "keifele"), id="gift-bomb-counts-its-size"),
        pytest.param(f"@{SUB_TAGS};msg-id=subgift;msg-param-community-gift-id=123 :tmi.twitch.tv USERNOTICE #xqcow",
                     None, id="gift-bomb-parts-not-counted-twice"),
        pytest.param(f"@{SUB_TAGS};msg-id=raid;msg-param-viewerCount=1234 :tmi.twitch.tv USERNOTICE #xqcow",
                     HypeEvent("e1", 1568505600.0, "raid", 1234.0, "keifele"), id="raid-with-viewers"),
        pytest.param(f"@{SUB_TAGS};msg-id=raid;msg-param-viewerCount=x :tmi.twitch.tv USERNOTICE #xqcow",
                     HypeEvent("e1", 1568505600.0, "raid", 0.0, "keifele"), id="raid-bad-count-is-zero"),
        pytest.param(f"@{SUB_TAGS};bits=70 :tizzit!tizzit@t PRIVMSG #xqcow :Cheer70 ManChicken",
                     HypeEvent("e1", 1568505600.0, "bits", 70.0, "keifele"), id="cheer"),
        pytest.param(f"@{SUB_TAGS};bits=-5 :t!t@t PRIVMSG #xqcow :Cheer70", None, id="negative-bits-ignored"),
        pytest.param(f"@{SUB_TAGS} :t!t@t PRIVMSG #xqcow :no bits", None, id="plain-message"),
        pytest.param(f"@{SUB_TAGS};msg-id=announcement :tmi.twitch.tv USERNOTICE #xqcow :hi",
                     None, id="announcement-is-not-hype"),
        pytest.param(":tmi.twitch.tv CLEARCHAT #xqcow :user", None, id="other-command"),
    ],
)  # fmt: skip
def test_it_turns_subs_gifts_raids_and_bits_into_hype_events(line: str, expected: HypeEvent | None) -> None:
    assert hype_event_from(parse_line(line)) == expected


def test_the_real_log_has_subs_and_a_cheer(real_log_lines: list[str]) -> None:
    events = [e for e in (hype_event_from(parse_line(line)) for line in real_log_lines) if e]
    kinds = [e.kind for e in events]
    assert kinds.count("resub") + kinds.count("sub") == 9
    assert [e.amount for e in events if e.kind == "bits"] == [70.0]
