"""A stream worker's model calls: to the cluster's model service when there is one, else in-process.

In cluster mode a stream worker's runtime (server/runtime.py) uses a ModelRouter where one box uses
a plain ModelWorker. It *is* that in-process ModelWorker, with its models loaded as always, and
only `run` (what the audio tagger and the sentiment service call) goes first to a ModelService
actor on a model worker (server/model_service.py) that offers the key. Whatever goes wrong there
(the model worker died, was removed, did not answer within SERVICE_TIMEOUT_S) the same call runs
in-process at once, so a segment never loses its tags; the router looks for a service again
every REFIND_S and goes back to it once one is up.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from server.inference import ModelWorker
from server.model_service import RESOURCE, ModelService, ServiceRecord, record_name

log = logging.getLogger(__name__)

REFIND_S = 5.0  # how often the model workers are looked up again
SERVICE_TIMEOUT_S = 30.0  # a call the service has not answered by then runs in-process


class ModelRouter(ModelWorker):
    """A ModelWorker whose `run` prefers the cluster's model service (once `attach`ed to a Dask worker)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.remote_calls = 0  # answered by the service (for tests and the job status)
        self.fallbacks = 0  # calls the service could not answer, run in-process instead
        self._dask_worker: Any = None
        self._client: Any = None
        self._service: tuple[ServiceRecord, Any] | None = None  # the record and its Actor handle
        self._looked_at = float("-inf")
        self._lost: str | None = None  # why the last service was dropped, until one is found again
        self._find_lock = threading.Lock()

    def attach(self, dask_worker: Any, client: Any) -> None:
        """Look for model services through this Dask worker's scheduler (run_stream calls it)."""
        self._dask_worker, self._client = dask_worker, client

    def run(self, key: str, item: Any, timeout: float | None = None, max_wait_s: float | None = None) -> Any:
        # `max_wait_s` holds for the in-process worker only: the service batches for every stream
        # worker and answers within SERVICE_TIMEOUT_S or the call falls back to here.
        found = self._find()
        if found is not None and key in found[0].keys:
            record, actor = found
            try:
                result = actor.run(key, item, str(self._dask_worker.name)).result(
                    SERVICE_TIMEOUT_S if timeout is None else min(timeout, SERVICE_TIMEOUT_S)
                )
            except Exception as exc:  # dead, closing or stuck: this call runs here instead
                self._drop(record, f"{type(exc).__name__}: {exc}")
            else:
                self.remote_calls += 1
                return result
        return super().run(key, item, timeout, max_wait_s)

    def status(self) -> dict[str, Any]:
        """Where model calls go now, for the job's status: {"where": "service", the model worker...}
        or {"where": "in-process", "lost": why the service was dropped, if it was}."""
        found = self._service
        if found is not None:
            record = found[0]
            return {"where": "service", "worker": record.name, "address": record.address, "pid": record.pid}
        return {"where": "in-process", "lost": self._lost}

    def notice(self) -> str | None:
        """A degraded notice while a service that was used is gone."""
        if self._service is None and self._lost is not None:
            return f"model service lost ({self._lost}): models run in-process on this worker"
        return None

    # --- finding a service ---------------------------------------------------------------------

    def _find(self) -> tuple[ServiceRecord, Any] | None:
        if self._client is None:
            return None  # not in a cluster (or no stream started yet): in-process, as on one box
        if self._service is not None or time.monotonic() - self._looked_at < REFIND_S:
            return self._service
        with self._find_lock:
            if self._service is None and time.monotonic() - self._looked_at >= REFIND_S:
                self._looked_at = time.monotonic()
                try:
                    self._service = self._lookup()
                except Exception as exc:  # the scheduler is busy or gone: try again later
                    log.info("model service lookup failed: %s", exc)
                if self._service is not None:
                    record = self._service[0]
                    log.info("model calls go to the model service on %s (pid %d)", record.address, record.pid)
                    self._lost = None
        return self._service

    def _lookup(self) -> tuple[ServiceRecord, Any] | None:
        from distributed import Actor, Variable

        workers = self._client.scheduler_info(n_workers=-1).get("workers", {})
        for address, info in sorted(workers.items()):
            if not (info.get("resources") or {}).get(RESOURCE):
                continue
            try:
                text = Variable(record_name(address), client=self._client).get(timeout=0.5)
            except TimeoutError:  # joined, still publishing its actor
                continue
            record = ServiceRecord.decode(text)
            if record is not None and record.address == address:
                return record, Actor(ModelService, record.address, record.key, worker=self._dask_worker)
        return None

    def _drop(self, record: ServiceRecord, why: str) -> None:
        with self._find_lock:
            if self._service is not None and self._service[0] == record:
                self._service = None
                self._lost = f"{record.name}: {why}"
                self._looked_at = time.monotonic()
                self.fallbacks += 1
                log.warning("model service on %s failed (%s): models in-process for now", record.address, why)
