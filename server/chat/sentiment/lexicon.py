"""The offline sentiment backend: Twitch-aware tokens scored with three lexicons and a few rules.

Valence of a token, first match wins: an emote in the Kobs et al. 2020 survey table
(`data/emote_sentiment.tsv`), then the hand-written `data/twitch_extra.tsv` (third-party emotes
and chat slang), an emoticon, a VADER word (valence / 4), an emoji (VADER's emoji description, scored word by
word), then a token learned from this project's recorded chat by emote distant supervision
(`data/chat_learned.tsv`, built by `train_lexicon.py`: third-party emotes typed as text, channel
emotes, chat slang that VADER lacks). Then VADER-style rules: a shouted (all-caps) or stretched
word counts more, an intensifier ("very", "so") or a damper ("kinda") within the three tokens
before a word or emote moves it by VADER's booster step, a "but" halves what comes before it
and adds half to what follows (VADER's rule), a negation within the three tokens before a word
flips and damps it, and a
sarcasm marker (Kappa, 4Head, /s) has no valence of its own but flips the message's words. The
sum is squashed to [-1, 1] like VADER's compound score and cut at +-THRESHOLD.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

from server.chat.sentiment import ChatText, Sentiment
from server.chat.sentiment.tokenize import NEGATIONS, Token, tokenize

DATA = Path(__file__).resolve().parent / "data"
THRESHOLD = 0.25  # |compound| below this is neutral; chosen on the dev half of tests/data (docs/chat.md)
ALPHA = 1.0  # squash constant: VADER's 15 on its -4..4 scale, i.e. ~1 on our -1..1 scale
CAPS_BOOST = 1.25  # VADER adds 0.733 of 4 to a shouted word; a ratio keeps emotes and words alike
ELONGATED_BOOST = 1.15
NEGATION_FACTOR = -0.74  # VADER's N_SCALAR
NEGATION_REACH = 3  # tokens after a negation that it flips
SARCASM_FACTOR = NEGATION_FACTOR  # "nice play Kappa" reads like "not a nice play"
BOOSTER_DECAY = (1.0, 0.95, 0.9)  # VADER: a booster 1, 2 or 3 tokens before the word
BUT_BEFORE, BUT_AFTER = 0.5, 1.5  # VADER's _but_check


def _read_tsv(path: Path, kinds: tuple[str, ...] | None = None) -> dict[str, float]:
    table: dict[str, float] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.reader((line for line in fh if not line.startswith("#")), delimiter="\t"):
            if len(row) < 2 or row[0] in ("word", "token"):  # header rows
                continue
            if kinds is None or (len(row) >= 4 and row[3] in kinds):
                table[row[0]] = float(row[1])
    return table


@lru_cache(maxsize=1)
def emote_table() -> dict[str, float]:
    """The Kobs et al. 2020 survey valences of the 100 most used emotes (and emoticons)."""
    return _read_tsv(DATA / "emote_sentiment.tsv")


@lru_cache(maxsize=1)
def learned_table() -> dict[str, float]:
    """Token valences learned by emote distant supervision (`train_lexicon.py`); {} if not built."""
    path = DATA / "chat_learned.tsv"
    return _read_tsv(path) if path.exists() else {}


@lru_cache(maxsize=1)
def vader_tables() -> tuple[dict[str, float], dict[str, str]]:
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
    """Twitch-aware lexicon sentiment. The defaults are the shipped backend; the switches give the
    variants `bench/sentiment_f1.py` compares (e.g. `extras=False, words=False, learned=False` is
    the Kobs et al. emote lexicon alone, `learned=False, sarcasm=False, vader_rules=False` the backend
    before issue 10).

    `extras` (on by default) is `twitch_extra.tsv`, written by hand after reading the 380
    self-labelled messages of tests/data, so it is not blind to them; it stays because emote
    distant supervision could not learn those emotes from the chat we have (docs/chat.md).
    """

    name = "lexicon"

    def __init__(
        self,
        threshold: float = THRESHOLD,
        extras: bool = True,
        words: bool = True,
        learned: bool = True,
        sarcasm: bool = True,
        vader_rules: bool = True,
    ) -> None:
        self.threshold = threshold
        self.emotes = dict(emote_table())
        self.slang: dict[str, float] = {}
        if extras:
            self.emotes.update(_read_tsv(DATA / "twitch_extra.tsv", ("emote",)))
            self.slang = _read_tsv(DATA / "twitch_extra.tsv", ("word",))
        self.emotes_folded = {name.lower(): value for name, value in self.emotes.items() if len(name) >= 4}
        vader_words, self.emoji = vader_tables()
        self.words = vader_words if words else {}
        self.learned = learned_table() if learned else {}
        self.sarcasm = sarcasm
        self.vader_rules = vader_rules  # boosters and "but"

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
        if not self.sarcasm:  # the old reading: markers are plain emotes of the tables
            tokens = [Token(t.text, "emote") if t.kind == "sarcasm" else t for t in tokens]
        ironic = any(t.kind == "sarcasm" for t in tokens)
        but = next((i for i, t in enumerate(tokens) if t.kind == "word" and t.text == "but"), None)
        boosters = _boosters() if self.vader_rules else {}
        total = 0.0
        for i, token in enumerate(tokens):
            value = self.valence(token)
            if value == 0.0:
                continue
            if token.caps or token.elongated:
                value *= CAPS_BOOST if token.caps else ELONGATED_BOOST
            for distance, decay in enumerate(BOOSTER_DECAY, start=1):
                before = tokens[i - distance] if i - distance >= 0 else None
                if before is not None and before.kind == "word" and before.text in boosters:
                    value += boosters[before.text] * decay * (1.0 if value > 0 else -1.0)
            if but is not None and self.vader_rules:
                value *= BUT_BEFORE if i < but else BUT_AFTER
            # Emotes are the writer's reaction, not a proposition: "NO WAY PogU" is not negated,
            # and "LULW Kappa" still laughs; only words are said the other way.
            if token.kind == "word":
                if any(t.kind == "word" and t.text in NEGATIONS for t in tokens[max(0, i - NEGATION_REACH) : i]):
                    value *= NEGATION_FACTOR
                if ironic:
                    value *= SARCASM_FACTOR
            total += value
        return total / math.sqrt(total * total + ALPHA)

    def emote_decides(self, text: str, emotes: Sequence[str] = ()) -> bool:
        """True when the message has an emote or emoticon that carries sentiment (any table).

        Twitch users put their feeling in emotes, which a model trained on other text misreads
        (Kobs et al. 2020), so the ensemble (`ensemble.py`) lets these messages be read here.
        """
        for token in tokenize(text, emotes, self.emotes):
            if token.kind in ("emote", "emoticon") and self.valence(token) != 0.0:
                return True
            if token.kind == "word" and token.text in self.emotes_folded and self.emotes_folded[token.text] != 0.0:
                return True  # "poggers" typed in lower case
        return False

    def valence(self, token: Token) -> float:
        """The lexicon value of one token (0.0 when no table knows it)."""
        if token.kind == "sarcasm":
            return 0.0
        if token.kind in ("emote", "emoticon"):
            value = self.emotes.get(token.text, self.emotes_folded.get(token.text.lower()))
            return value if value is not None else self._learned(token.text)
        if token.kind == "emoji":
            words = self.emoji.get(token.text, "").split()
            values = [self.words[w] for w in words if w in self.words]
            return max(values, key=abs) if values else self._learned(token.text)
        if token.kind != "word" or token.text in NEGATIONS:
            return 0.0
        for form in (token.text, _squeeze_all(token.text)):
            if form in self.slang:
                return self.slang[form]
            if form in self.emotes_folded:  # "poggers", "lulw" typed in lower case
                return self.emotes_folded[form]
            if form in self.words:
                return self.words[form]
        return self._learned(token.text)

    def _learned(self, text: str) -> float:
        # Learned keys are emotes as written (xqcL) and words in lower case (pogu, kkonaw).
        return self.learned.get(text, self.learned.get(text.lower(), 0.0))


@lru_cache(maxsize=1)
def _boosters() -> dict[str, float]:
    # VADER's intensifiers and dampers (one-word ones; on its -4..4 scale, so / 4 here).
    from vaderSentiment.vaderSentiment import BOOSTER_DICT

    return {word: step / 4.0 for word, step in BOOSTER_DICT.items() if " " not in word}


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
