"""Chat sentiment: one interface, backends chosen by `CHAT_SENTIMENT_BACKEND`.

- ``lexicon`` (offline): Twitch-aware tokens scored with the Kobs et al. emote lexicon,
  a small hand-written Twitch table and VADER's word lexicon (`lexicon.py`).
- ``transformers``: a Hugging Face text-classification model, by default
  `cardiffnlp/twitter-roberta-base-sentiment-latest` (`hf.py`), from its downloaded folder
  (`python -m server.chat.sentiment download`, `download.py`) when there is one.
- ``auto`` (the default): transformers when `CHAT_SENTIMENT_MODEL` is set or the default model
  has been downloaded, else the lexicon with a notice saying how to get the model.
- ``ensemble``: the lexicon where a message's emotes carry sentiment, the model for the rest
  (`ensemble.py`).

Both map a batch of texts to `Sentiment(label, score)`: `label` is positive/neutral/negative and
`score` is a valence in [-1, 1] (> 0 positive), so the two backends are interchangeable.
`python -m server.chat.sentiment` classifies stdin line by line.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

LABELS = ("negative", "neutral", "positive")
BACKENDS = ("auto", "lexicon", "transformers", "ensemble")
DEFAULT_BACKEND = "auto"
DEFAULT_MODEL = "cardiffnlp/twitter-roberta-base-sentiment-latest"
NO_DOWNLOAD = "chat sentiment: lexicon (no downloaded model: run python -m server.chat.sentiment download)"


class SentimentError(Exception):
    """Raised by `load_backend` for an unknown backend name or a model that cannot be loaded."""


@dataclass(frozen=True)
class Sentiment:
    label: str  # one of LABELS
    score: float  # valence in [-1, 1]

    def to_dict(self) -> dict[str, float | str]:
        return {"label": self.label, "score": round(self.score, 4)}


@dataclass(frozen=True)
class ChatText:
    """What a backend sees of a message: its text and its Twitch emotes (from the `emotes` tag)."""

    text: str
    emotes: tuple[str, ...] = ()


class SentimentBackend(Protocol):
    name: str

    def classify(self, messages: Sequence[ChatText]) -> list[Sentiment]:
        """One `Sentiment` per message, in order."""
        ...


def resolve(name: str = DEFAULT_BACKEND, model: str | None = None) -> tuple[str, str | None, str | None]:
    """(backend, model, notice): what `name` and `model` mean on this machine, without loading anything.

    "auto" is transformers with `model` when one is configured, or with the downloaded default
    model; otherwise the lexicon, and the notice says how to download the model. A hub id whose
    download is in the cache is replaced by that folder, so the server never reaches the hub.
    """
    if name not in BACKENDS:
        raise SentimentError(f"unknown sentiment backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if name == "lexicon":
        return "lexicon", None, None
    from server.chat.sentiment.download import downloaded  # "ensemble" takes its model like transformers

    wanted = model or DEFAULT_MODEL
    local = None if Path(wanted).expanduser().exists() else downloaded(wanted)  # a folder is used as it is
    if name == "auto" and model is None and local is None:
        return "lexicon", None, NO_DOWNLOAD
    return "transformers" if name == "auto" else name, str(local) if local else wanted, None


def load_backend(name: str = "lexicon", model: str | None = None) -> SentimentBackend:
    """Return a ready backend; raise `SentimentError` saying why if it cannot be had."""
    name, model, _ = resolve(name, model)
    if name == "lexicon":
        from server.chat.sentiment.lexicon import LexiconSentiment

        return LexiconSentiment()
    if name == "transformers":
        from server.chat.sentiment.hf import TransformersSentiment

        return TransformersSentiment(model or DEFAULT_MODEL)
    if name == "ensemble":
        from server.chat.sentiment.ensemble import EnsembleSentiment
        from server.chat.sentiment.hf import TransformersSentiment

        return EnsembleSentiment(TransformersSentiment(model or DEFAULT_MODEL))
    raise SentimentError(f"unknown sentiment backend {name!r}; choose one of {', '.join(BACKENDS)}")


def load_with_fallback(name: str = DEFAULT_BACKEND, model: str | None = None) -> tuple[SentimentBackend, str | None]:
    """Like `load_backend`, but a transformers model that cannot be loaded falls back to lexicon.

    Returns the backend and a degraded notice (None when the asked-for backend runs), so a
    server whose model is missing keeps scoring chat and says so on the status page.
    """
    name, model, notice = resolve(name, model)
    if notice:
        log.warning(notice)
        return load_backend("lexicon"), notice
    try:
        return load_backend(name, model), None
    except SentimentError as exc:
        if name not in BACKENDS:
            raise
        notice = f"chat sentiment: {exc}; using the lexicon backend"
        log.warning(notice)
        return load_backend("lexicon"), notice
