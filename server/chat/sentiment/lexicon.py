"""The offline sentiment backend: Twitch-aware tokens scored with three lexicons.

Valence of a token, first match wins: the message's own or a known emote in the emote tables
(`data/emote_sentiment.tsv`, Kobs et al. 2020, then `data/twitch_extra.tsv`), an emoticon, a
Twitch slang word (`twitch_extra.tsv`), a VADER word (valence / 4), an emoji (VADER's emoji
description, scored word by word). Then VADER-style rules: a shouted (all-caps) or stretched
word counts more, a negation within the three tokens before a word flips and damps it. The sum is
squashed to [-1, 1] like VADER's compound score and cut at +-THRESHOLD.
"""

from __future__ import annotations

import csv
import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Sequence

from server.chat.sentiment import ChatText, Sentiment
from server.chat.sentiment.tokenize import NEGATIONS, Token, tokenize

DATA = Path(__file__).resolve().parent / "data"
THRESHOLD = 0.25  # |compound| below this is neutral; chosen on the dev half of tests/data (docs/chat.md)
ALPHA = 1.0  # squash constant: VADER's 15 on its -4..4 scale, i.e. ~1 on our -1..1 scale
CAPS_BOOST = 1.25  # VADER adds 0.733 of 4 to a shouted word; a ratio keeps emotes and words alike
ELONGATED_BOOST = 1.15
NEGATION_FACTOR = -0.74  # VADER's N_SCALAR
NEGATION_REACH = 3  # tokens after a negation that it flips


def _read_tsv(path: Path, kinds: tuple[str, ...] | None = None) -> dict[str, float]:
    table: dict[str, float] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.reader((line for line in fh if not line.startswith("#")), delimiter="\t"):
            if len(row) < 2 or row[0] == "word":
                continue
            if kinds is None or (len(row) >= 4 and row[3] in kinds):
                table[row[0]] = float(row[1])
    return table


@lru_cache(maxsize=1)
def _vader_tables() -> tuple[dict[str, float], dict[str, str]]:
    package = resources.files("vaderSentiment")
    words: dict[str, float] = {}
    for line in package.joinpath("vader_lexicon.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            words[parts[0]] = float(parts[1]) / 4.0
    emoji: dict[str, str] = {}
    for line in package.joinpath("emoji_utf8_lexicon.txt").read_text(encoding="utf-8").splitlines():
        symbol, _, description = line.partition("\t")
        emoji[symbol] = description
    return words, emoji


class LexiconSentiment:
    """Twitch-aware lexicon sentiment; `emote_lexicon_only=True` gives the Kobs et al. baseline."""

    name = "lexicon"

    def __init__(self, threshold: float = THRESHOLD, extras: bool = True, words: bool = True) -> None:
        self.threshold = threshold
        self.emotes = _read_tsv(DATA / "emote_sentiment.tsv")
        self.slang: dict[str, float] = {}
        if extras:
            self.emotes.update(_read_tsv(DATA / "twitch_extra.tsv", ("emote",)))
            self.slang = _read_tsv(DATA / "twitch_extra.tsv", ("word",))
        self.emotes_folded = {name.lower(): value for name, value in self.emotes.items() if len(name) >= 4}
        vader_words, self.emoji = _vader_tables()
        self.words = vader_words if words else {}

    def classify(self, messages: Sequence[ChatText]) -> list[Sentiment]:
        return [self.sentiment(m.text, m.emotes) for m in messages]

    def sentiment(self, text: str, emotes: Sequence[str] = ()) -> Sentiment:
        compound = self.compound(text, emotes)
        if compound >= self.threshold:
            return Sentiment("positive", compound)
        if compound <= -self.threshold:
            return Sentiment("negative", compound)
        return Sentiment("neutral", compound)

    def compound(self, text: str, emotes: Sequence[str] = ()) -> float:
        """Valence of the message in [-1, 1] (0 when nothing in it carries sentiment)."""
        tokens = tokenize(text, emotes, self.emotes)
        total = 0.0
        for i, token in enumerate(tokens):
            value = self.valence(token)
            if value == 0.0:
                continue
            if token.caps or token.elongated:
                value *= CAPS_BOOST if token.caps else ELONGATED_BOOST
            # Emotes are the writer's reaction, not a proposition: "NO WAY PogU" is not negated.
            if token.kind == "word" and any(t.kind == "word" and t.text in NEGATIONS
                                            for t in tokens[max(0, i - NEGATION_REACH):i]):
                value *= NEGATION_FACTOR
            total += value
        return total / math.sqrt(total * total + ALPHA)

    def valence(self, token: Token) -> float:
        """The lexicon value of one token (0.0 when no table knows it)."""
        if token.kind in ("emote", "emoticon"):
            return self.emotes.get(token.text, self.emotes_folded.get(token.text.lower(), 0.0))
        if token.kind == "emoji":
            words = self.emoji.get(token.text, "").split()
            values = [self.words[w] for w in words if w in self.words]
            return max(values, key=abs) if values else 0.0
        if token.kind != "word" or token.text in NEGATIONS:
            return 0.0
        for form in (token.text, _squeeze_all(token.text)):
            if form in self.slang:
                return self.slang[form]
            if form in self.emotes_folded:  # "poggers", "lulw" typed in lower case
                return self.emotes_folded[form]
            if form in self.words:
                return self.words[form]
        return 0.0


def _squeeze_all(word: str) -> str:
    # "soo" (already squeezed to two) -> "so"; tried after the two-letter form ("good", "cool").
    out: list[str] = []
    for char in word:
        if not out or out[-1] != char:
            out.append(char)
    return "".join(out)


@lru_cache(maxsize=1)
def shared_lexicon() -> LexiconSentiment:
    """One lexicon backend per process: its tables are read-only once built, so threads share it."""
    return LexiconSentiment()
