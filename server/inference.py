"""One shared thread that runs model work (audio tagging, chat sentiment...) for every stream job.

Stream jobs call `worker.submit(key, item)` from their own threads and wait on the returned
Future. The worker groups items submitted for the same key within a short window (default
50 ms, at most `max_batch`) and calls that key's batch function once, so segments of different
streams share one forward pass, and a model is only ever used from this one thread (no request
thread ever runs inference, and torch's intra-op threads are not oversubscribed by N jobs).

    worker = ModelWorker()
    worker.register("audio_tag", lambda clips: model(clips))   # list in -> list out, same order
    future = worker.submit("audio_tag", clip)                   # any thread
    probabilities = future.result(timeout=30)
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

BatchFn = Callable[[Sequence[Any]], Sequence[Any]]


class WorkerStopped(RuntimeError):
    """Raised by submit() after stop(), and set on futures still waiting when the worker stops."""


class Overdue(RuntimeError):
    """Set on a request that waited longer than its `max_wait_s` for the worker: it was not run."""


@dataclass
class _Request:
    key: str
    item: Any
    max_wait_s: float | None = None  # None: run it however long it waited
    submitted: float = field(default_factory=time.monotonic)
    future: Future = field(default_factory=Future)


class ModelWorker:
    """Runs registered batch functions on one daemon thread, batching items per key."""

    def __init__(self, window_s: float = 0.05, max_batch: int = 16, name: str = "model-worker"):
        if window_s < 0:
            raise ValueError(f"window_s must be >= 0, got {window_s}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.window_s = window_s
        self.max_batch = max_batch
        self.name = name
        self.batches_run = 0  # for tests and the benchmark: how many batch calls were made
        self._fns: dict[str, BatchFn] = {}
        self._batch_limits: dict[str, int] = {}
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def register(self, key: str, batch_fn: BatchFn, max_batch: int | None = None) -> None:
        """Make `key` available: `batch_fn(items)` must return one result per item, in order;
        `max_batch` (at most the worker's): a smaller batch for a model whose items are slow, so
        that no item waits behind many others."""
        with self._lock:
            self._fns[key] = batch_fn
            self._batch_limits[key] = min(max_batch or self.max_batch, self.max_batch)

    def registered(self, key: str) -> bool:
        return key in self._fns

    def submit(self, key: str, item: Any, max_wait_s: float | None = None) -> Future:
        """Queue `item` for `key`'s batch function; the Future gets its result or exception.

        `max_wait_s`: work that is worth doing only soon (a live segment's optional features):
        if its batch has not started within that many seconds, it is not run and the Future
        gets `Overdue`. That bounds what a backlog adds to a live stream's lag.
        """
        if key not in self._fns:
            raise KeyError(f"no batch function registered for {key!r}")
        if self._stopped.is_set():
            raise WorkerStopped(f"{self.name} is stopped")
        self._ensure_started()
        request = _Request(key, item, max_wait_s)
        self._queue.put(request)
        return request.future

    def run(self, key: str, item: Any, timeout: float | None = None, max_wait_s: float | None = None) -> Any:
        """Submit and wait: the result for `item` (re-raises the batch function's exception)."""
        return self.submit(key, item, max_wait_s).result(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread; anything still queued fails with WorkerStopped."""
        self._stopped.set()
        thread = self._thread
        if thread and thread.is_alive():
            thread.join(timeout)
        self._fail_queued()

    # --- the worker thread -------------------------------------------------------------------

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while not self._stopped.is_set():
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            for key, batch in self._collect(first).items():
                self._run_batch(key, batch)

    def _collect(self, first: _Request) -> dict[str, list[_Request]]:
        """Gather what arrives within the window after `first`, grouped by key (arrival order kept)."""
        groups: dict[str, list[_Request]] = {first.key: [first]}
        deadline = time.monotonic() + self.window_s
        while len(groups[first.key]) < self._batch_limits[first.key]:
            remaining = deadline - time.monotonic()
            try:
                request = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            groups.setdefault(request.key, []).append(request)
        return groups

    def _run_batch(self, key: str, batch: list[_Request]) -> None:
        # Another key may have collected more than its batch limit while the first key filled up;
        # each chunk is checked for overdue requests when it starts, after the chunks before it.
        limit = self._batch_limits[key]
        for start in range(0, len(batch), limit):
            now = time.monotonic()
            chunk = []
            for request in batch[start : start + limit]:
                if not request.future.set_running_or_notify_cancel():
                    continue
                waited = now - request.submitted
                if request.max_wait_s is not None and waited > request.max_wait_s:
                    request.future.set_exception(Overdue(f"{key}: not run, it waited {waited:.1f} s"))
                else:
                    chunk.append(request)
            if chunk:
                self._call(key, chunk)

    def _call(self, key: str, chunk: list[_Request]) -> None:
        try:
            results = list(self._fns[key]([r.item for r in chunk]))
            if len(results) != len(chunk):
                raise RuntimeError(f"batch function {key!r} returned {len(results)} results for {len(chunk)} items")
        except Exception as exc:  # the caller decides what a failed batch means; the worker goes on
            log.warning("model worker: batch %r of %d failed: %s", key, len(chunk), exc)
            for request in chunk:
                request.future.set_exception(exc)
            return
        finally:
            self.batches_run += 1
        for request, result in zip(chunk, results, strict=True):
            request.future.set_result(result)

    def _fail_queued(self) -> None:
        while True:
            try:
                request = self._queue.get_nowait()
            except queue.Empty:
                return
            if request.future.set_running_or_notify_cancel():
                request.future.set_exception(WorkerStopped(f"{self.name} stopped"))
