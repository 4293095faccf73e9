"""The transformers backend: a Hugging Face text-classification model, batched.

The model is a Hub id or a local folder (`CHAT_SENTIMENT_MODEL`). Its labels are read from the
model's config: named ones (negative/neutral/positive, as cardiffnlp's models have) are used by
name, and three anonymous ones (LABEL_0..2) are taken in cardiffnlp's order, negative, neutral,
positive. Anything else is refused, since a 2-class or 5-star model would be misread.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from server.chat.sentiment import LABELS, ChatText, Sentiment, SentimentError

log = logging.getLogger(__name__)

# Texts per forward pass. A batch is padded to its longest text, so on a CPU small batches of
# length-sorted texts waste least: 8 cost 0.82 CPU-s per segment's 20-message sample where 32 cost
# 1.94 (bench/chat.py, docs/benchmarks.md); a GPU pays nothing for padding and takes bigger ones.
BATCH_SIZE = 32
CPU_BATCH_SIZE = 8
MAX_TOKENS = 64  # Twitch caps messages at 500 chars; spam beyond 64 tokens adds nothing
_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+")


def _label_map(id2label: dict[int, str]) -> dict[str, str]:
    names = {str(v).lower(): str(v) for v in id2label.values()}
    if set(LABELS) <= set(names):
        return {names[label]: label for label in LABELS}
    if len(id2label) == 3:
        return {str(id2label[i]): label for i, label in enumerate(LABELS)}
    raise SentimentError(f"model labels {sorted(names)} are not negative/neutral/positive")


def gpu_available() -> bool:
    """True when torch sees a CUDA GPU: the model then runs there, on every message of a segment."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is pinned in requirements.txt
        return False
    return torch.cuda.is_available()


def preprocess(text: str) -> str:
    """Mask mentions and links the way the TweetEval models were trained (`@user`, `http`)."""
    return _URL.sub("http", _MENTION.sub("@user", text))


class TransformersSentiment:
    """A text-classification pipeline (GPU 0 if there is one, else CPU); `classify` runs the list in batches."""

    name = "transformers"

    def __init__(self, model: str, batch_size: int | None = None) -> None:
        try:
            from transformers import pipeline
        except ImportError as exc:  # pragma: no cover - transformers is pinned in requirements.txt
            raise SentimentError(f"transformers is not installed: {exc}") from exc
        try:
            gpu = gpu_available()
            self._pipe = pipeline(
                "text-classification", model=model, tokenizer=model, device=0 if gpu else -1, top_k=None
            )
        except (OSError, ValueError, KeyError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SentimentError(f"model {model!r} could not be loaded ({first_line})") from exc
        self._labels = _label_map(self._pipe.model.config.id2label)  # type: ignore[arg-type]  # set by from_pretrained
        self.model = model
        self.batch_size = batch_size or (BATCH_SIZE if gpu else CPU_BATCH_SIZE)
        log.info("chat sentiment: transformers model %s loaded", model)

    def classify(self, messages: Sequence[ChatText]) -> list[Sentiment]:
        if not messages:
            return []
        texts = [preprocess(m.text) for m in messages]
        # Batches are padded to their longest text: grouping similar lengths (one "LULW" with
        # one 60-token copy-pasta) saves most of the padding's compute.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        outputs = self._pipe(
            [texts[i] for i in order], batch_size=self.batch_size, truncation=True, max_length=MAX_TOKENS
        )
        results: list[Sentiment] = [Sentiment("neutral", 0.0)] * len(texts)
        for i, scores in zip(order, outputs, strict=True):
            results[i] = self._to_sentiment(scores)  # type: ignore[arg-type]  # top_k=None: a list per text
        return results

    def _to_sentiment(self, scores: list[dict]) -> Sentiment:
        probs = {self._labels[s["label"]]: float(s["score"]) for s in scores}
        label = max(LABELS, key=lambda name: probs.get(name, 0.0))
        return Sentiment(label, probs.get("positive", 0.0) - probs.get("negative", 0.0))
