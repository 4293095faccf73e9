"""The shared model service of a cluster: PANNs and the sentiment model on a model worker (cluster mode).

`python -m server.worker --models` loads the models once (as the server does on one box,
server/runtime.py) and, each time it joins a scheduler, hosts one ModelService: a Dask actor
pinned to that worker. Stream workers find it through the scheduler (the worker offers the Dask
resource `models`, and a JSON record names its actor) and send it their model calls
(server/model_route.py); it batches the calls of every stream of every stream worker into one
forward pass with the same ModelWorker the server uses in-process (server/inference.py).

Why an actor: calls go straight from the stream worker to the model worker (a segment's audio is
about 1.3 MB) without passing through the scheduler, and the models stay loaded between calls.
Why the model worker starts its own actor (and not the server): its life is the worker's, so a
scheduler restart or a model worker restart needs no one else to set it up again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from server.inference import ModelWorker

log = logging.getLogger(__name__)

RESOURCE = "models"  # the Dask resource a model worker offers (`--models`)
PREFIX = "highlights-models-"

_models: ModelWorker | None = None  # this process's loaded models (server.worker --models)


def record_name(worker_address: str) -> str:
    """The Variable on the scheduler naming the actor of the model worker at `worker_address`."""
    return PREFIX + worker_address


@dataclass(frozen=True)
class ServiceRecord:
    """Where a model worker's actor is, and what it offers (JSON text on the scheduler)."""

    address: str  # the model worker's Dask address: actor calls go straight there
    key: str  # the actor's Dask key
    pid: int
    name: str
    keys: tuple[str, ...]  # the ModelWorker keys it runs, e.g. ("audio_tag", "chat_sentiment")

    def encode(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def decode(cls, text: object) -> ServiceRecord | None:
        if not isinstance(text, str) or not text:
            return None
        data = json.loads(text)
        return cls(**{**data, "keys": tuple(data["keys"])}) if isinstance(data, dict) else None


def install(models: ModelWorker) -> None:
    """Make this process a model worker: its ModelService actors run `models`."""
    global _models
    _models = models


def load_models(config: Any) -> ModelWorker:
    """The audio tagger and the chat sentiment model, loaded once on this process's own ModelWorker.

    The same loading as one box's server (server/runtime.py): a bad setting stops start-up; what
    is missing (no checkpoint, no downloaded sentiment model) is simply not offered, and stream
    workers run that model in-process."""
    from server.chat.sentiment.service import ChatSentiment
    from server.runtime import make_audio_tagger

    worker = ModelWorker(config["MODEL_BATCH_WINDOW_S"], config["MODEL_MAX_BATCH"], name="model-service")
    tagger = make_audio_tagger(config, worker)
    if tagger.notice:
        log.warning("model service: %s", tagger.notice)
    sentiment = ChatSentiment(
        config["CHAT_SENTIMENT_BACKEND"], config["CHAT_SENTIMENT_MODEL"], worker, background=False, max_messages=None
    )
    if sentiment.notice:
        log.warning("model service: %s", sentiment.notice)
    return worker


class ModelService:
    """A Dask actor on a model worker: `run(key, item, caller)` batched with every other caller's."""

    def __init__(self) -> None:
        if _models is None:
            raise RuntimeError("this Dask worker has no models: start it with `python -m server.worker --models`")
        self._models = _models
        self._lock = threading.Lock()
        self._calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    async def run(self, key: str, item: Any, caller: str) -> Any:
        """`key`'s result for `item`. Async: it runs on the worker's event loop, so many callers'
        items wait on the ModelWorker at once and share its batches (a plain method would run
        them one by one on the actor's single thread)."""
        result = await asyncio.wrap_future(self._models.submit(key, item))
        with self._lock:
            self._calls[caller][key] += 1
        return result

    def stats(self) -> dict[str, Any]:
        """Who called it and how often, per caller and key; its process and batches run."""
        with self._lock:
            calls = {caller: dict(keys) for caller, keys in self._calls.items()}
        return {"pid": os.getpid(), "calls": calls, "batches": self._models.batches_run}


@dataclass
class Hosted:
    """A model worker's ModelService for one session with a scheduler: the actor lives as long as
    its future, held here (a dropped future would release the actor at once)."""

    client: Any
    future: Any

    async def close(self) -> None:
        await self.client.close(timeout=5)


async def host(worker: Any) -> Hosted:
    """Start this worker's ModelService and publish its record on the scheduler."""
    from distributed import Client, Variable

    from server.chat.sentiment.service import WORKER_KEY as SENTIMENT_KEY
    from server.features.audio_tags import WORKER_KEY as AUDIO_TAG_KEY

    client = await Client(worker.scheduler.address, asynchronous=True, set_as_default=False, name="model-service")
    future = client.submit(ModelService, actor=True, workers=[worker.address], allow_other_workers=False, pure=False)
    await future  # the actor is up (its __init__ ran on this worker)
    assert _models is not None  # ModelService.__init__ checked it
    keys = [key for key in (AUDIO_TAG_KEY, SENTIMENT_KEY) if _models.registered(key)]
    record = ServiceRecord(worker.address, future.key, os.getpid(), str(worker.name), tuple(keys))
    await Variable(record_name(worker.address), client=client).set(record.encode())
    log.info("model service on %s offers %s", worker.address, ", ".join(keys) or "nothing")
    return Hosted(client, future)
