"""Twitch-aware tokenisation: emotes, emoticons, emoji, elongated words, caps and laughter.

Twitch chat is mostly emotes (``PogU``, ``OMEGALUL``), spam and shouting, so a word tokenizer
built for prose loses most of the signal. Here an emote stays one case-sensitive token (``LUL``
is an emote, ``lul`` a word), ``D:`` and ``xD`` are emoticons not punctuation, each emoji is a
token, ``sooooo`` becomes ``so`` (marked elongated) and ``HAHAHAH`` becomes ``haha``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

EMOTICONS = frozenset(
    {
        ":)",
        ":(",
        ":D",
        "D:",
        ":O",
        ":o",
        ":P",
        ":p",
        ";)",
        "<3",
        "xD",
        "XD",
        ":/",
        ":\\",
        ":|",
        "=)",
        "=(",
        ":-)",
        ":-(",
        ";-)",
        ":'(",
        "xd",
    }
)
_EDGE_PUNCT = "\"'.,!?;:()[]{}<>*~`@#-_"
_ELONGATED = re.compile(r"(.)\1{2,}")  # three or more of a letter: "sooo", "!!!"
_LAUGH = re.compile(r"^(?:[hj]?a+h+|h+a+|he+h+|ja+|ka+|ha+)+[hja]*$|^(?:lo+l+)+$|^(?:ke+k+)+w?$")
_WORD_CHARS = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
NEGATIONS = frozenset(
    {
        "not",
        "no",
        "never",
        "nothing",
        "nobody",
        "none",
        "neither",
        "nor",
        "cannot",
        "without",
        "isnt",
        "dont",
        "doesnt",
        "didnt",
        "cant",
        "wont",
        "wasnt",
        "arent",
        "aint",
        "shouldnt",
        "wouldnt",
        "couldnt",
        "isn't",
        "don't",
        "doesn't",
        "didn't",
        "can't",
        "won't",
        "wasn't",
        "aren't",
        "shouldn't",
        "wouldn't",
        "couldn't",
        "nah",
        "nope",
    }
)
# Irony markers of Twitch chat, from general knowledge of the platform (not from labelled data):
# Kappa and its variants are Twitch's "just kidding" face, 4Head the groan at a bad joke, "/s"
# the Internet's sarcasm tag. The lexicon gives them no valence and reads the words of their
# message the other way ("great play Kappa"); the emote-label training leaves their messages out.
SARCASM_MARKERS = frozenset({"Kappa", "KappaHD", "Keepo", "Kapp", "4Head", "/s"})


@dataclass(frozen=True)
class Token:
    """One unit of a chat message; `text` is the emote/emoticon as written or the normalised word."""

    text: str
    kind: str  # "emote" | "emoticon" | "emoji" | "word" | "question" | "sarcasm" (Kappa, 4Head, /s)
    caps: bool = False  # shouted: an all-caps word of 2+ letters
    elongated: bool = False  # had a letter repeated 3+ times, or was laughter stretched out


def is_emoji(char: str) -> bool:
    """True for pictographic characters (emoji), not for letters, digits, punctuation or braille art."""
    if len(char) != 1:
        return False
    code = ord(char)
    if 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF:
        return True
    return unicodedata.category(char) == "So" and not 0x2800 <= code <= 0x28FF


def tokenize(text: str, emotes: Collection[str] = (), known_emotes: Collection[str] = ()) -> list[Token]:
    """Split one chat message into tokens.

    `emotes` are the message's Twitch emotes (from its IRCv3 ``emotes`` tag); `known_emotes` are
    names a lexicon knows (third-party emotes arrive as plain text). Both stay single tokens.
    """
    tokens: list[Token] = []
    emote_names = set(emotes) | set(known_emotes)
    for raw in text.split():
        if raw in SARCASM_MARKERS:  # before emotes: Kappa is an emote, but read as a marker
            tokens.append(Token(raw, "sarcasm"))
        elif raw in emote_names:
            tokens.append(Token(raw, "emote"))
        elif raw in EMOTICONS:
            tokens.append(Token(raw, "emoticon"))
        else:
            tokens.extend(_split_word(raw))
    return tokens


def _split_word(raw: str) -> list[Token]:
    tokens = [Token(char, "emoji") for char in raw if is_emoji(char)]
    if raw.strip("?") == "" or set(raw) <= {"?", "!"} and "?" in raw:
        return tokens + [Token("?", "question")]
    stripped = "".join(char for char in raw if not is_emoji(char)).strip(_EDGE_PUNCT)
    for match in _WORD_CHARS.finditer(stripped):
        tokens.append(_word(match.group()))
    return tokens


def _word(word: str) -> Token:
    letters = [c for c in word if c.isalpha()]
    caps = len(letters) >= 2 and all(c.isupper() for c in letters)
    lower = word.lower()
    elongated = bool(_ELONGATED.search(lower))
    squeezed = _ELONGATED.sub(r"\1\1", lower)  # "sooooo" -> "soo"; the lexicon step tries "so" too
    if len(squeezed) >= 4 and _LAUGH.match(squeezed):
        laugh = "lol" if "o" in squeezed else "kek" if "k" in squeezed else "haha"
        return Token(laugh, "word", caps, elongated or len(squeezed) > 6)
    return Token(squeezed, "word", caps, elongated)
