"""The server's chat sentiment: the configured backend, on the shared model thread, never blocking.

A transformers model loads in the background (a Hub download that cannot happen retries for
about a minute), and until it is ready, or if it never is, messages are classified by the
lexicon and `notice` says so for the status page. Model inference runs on the server's one
`ModelWorker` thread, one item per segment (its list of messages), batched with other streams'.
With `ensemble` the model only sees the messages whose emotes do not decide (`ensemble.py`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from server.chat.sentiment import (
    DEFAULT_BACKEND,
    ChatText,
    Sentiment,
    SentimentBackend,
    SentimentError,
    load_backend,
    resolve,
)
from server.chat.sentiment.ensemble import combine
from server.chat.sentiment.lexicon import shared_lexicon

log = logging.getLogger(__name__)

WORKER_KEY = "chat_sentiment"
TIMEOUT_S = 60.0  # a segment's batch waits at most this long for the model thread, then lexicon
# Per segment for the transformers backend on a CPU. The budget is 1 CPU-s per 10 s segment and
# stream (what the Cnn14 audio tagger costs); a RoBERTa-base sample of 20 costs ~0.8 (bench/chat.py,
# pessimistic token counts, docs/benchmarks.md). More than that and a busy chat outruns the model.
MAX_MESSAGES = 20


class ChatSentiment:
    """`classify(texts)` with the configured backend; `notice` is a degraded message or None."""

    def __init__(
        self,
        backend: str = DEFAULT_BACKEND,
        model: str | None = None,
        worker=None,
        timeout_s: float = TIMEOUT_S,
        background: bool = True,
        max_messages: int | None = MAX_MESSAGES,
    ) -> None:
        # "auto" becomes transformers or lexicon here (is the model downloaded?); a bad name raises.
        backend, model, notice = resolve(backend, model)
        self.wanted, self.model = backend, model
        self.worker, self.timeout_s = worker, timeout_s
        self.notice: str | None = notice  # e.g. "chat sentiment: lexicon (no downloaded model: ...)"
        if notice:
            log.warning(notice)  # once at start-up; each job's degraded list repeats it
        # Messages classified per segment on a CPU (a sample of a busier window, docs/chat.md); on a
        # GPU the model reads every message, and so does the lexicon.
        self.max_messages = max_messages if backend != "lexicon" and not _gpu() else None
        self._lexicon = shared_lexicon()
        self._backend: SentimentBackend | None = None  # the transformers backend once loaded
        self._loaded = threading.Event()
        if backend == "lexicon":
            self._loaded.set()
            return
        self.notice = f"chat sentiment: loading {self.model}; lexicon until it is ready"
        if background:
            threading.Thread(target=self._load, name="chat-sentiment-load", daemon=True).start()
        else:
            self._load()

    @property
    def active(self) -> str:
        """The backend classifying right now: "transformers", "ensemble" (once the model is ready) or "lexicon"."""
        return self.wanted if self._backend is not None else "lexicon"

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the model has loaded or failed; True when loading is over."""
        return self._loaded.wait(timeout)

    def classify(self, texts: Sequence[ChatText]) -> list[Sentiment]:
        """One Sentiment per text; the model on the worker thread if ready, else the lexicon."""
        if self._backend is None or not texts:
            return self._lexicon.classify(texts)
        if self.wanted == "ensemble":
            return combine(texts, self._lexicon, self._model)
        return self._model(texts)

    def _model(self, texts: Sequence[ChatText]) -> list[Sentiment]:
        backend = self._backend
        assert backend is not None  # classify() routes here only once it is loaded
        try:
            if self.worker is not None:
                return self.worker.run(WORKER_KEY, list(texts), self.timeout_s)
            return backend.classify(texts)
        except Exception as exc:  # one failed batch costs one segment the model, not the stream
            log.warning("chat sentiment: model batch failed (%s); lexicon for this segment", exc)
            return self._lexicon.classify(texts)

    def _load(self) -> None:
        try:
            backend = load_backend("transformers", self.model)
        except SentimentError as exc:
            self.notice = f"chat sentiment: {exc}; using the lexicon backend"
            log.warning(self.notice)
        else:
            if self.worker is not None:
                self.worker.register(WORKER_KEY, lambda items: _per_item(backend, items))
            self._backend, self.notice = backend, None
        finally:
            self._loaded.set()


def _gpu() -> bool:
    from server.chat.sentiment.hf import gpu_available

    return gpu_available()


def _per_item(backend, items: Sequence[Sequence[ChatText]]) -> list[list[Sentiment]]:
    # The worker batches segments (items); the model is fastest on one flat list of messages.
    flat = [text for item in items for text in item]
    results = backend.classify(flat)
    out, start = [], 0
    for item in items:
        out.append(results[start : start + len(item)])
        start += len(item)
    return out
