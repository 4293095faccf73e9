"""The set of running stream jobs, safe to use from concurrent request threads.

With a JobStore, every running job (its request and resume point) is kept in DATA_DIR/jobs.json
so that `resume()` after a server restart starts them again where they left off.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Any, Generic, TypeVar

from server.job_store import JobStore, SavedJob
from server.jobs import JobContext, StreamJob
from server.validation import JobRequest
from server.vod import VodJob

log = logging.getLogger(__name__)

J = TypeVar("J")


class JobTable(Generic[J]):
    """What every job manager shares (this one on threads, server/cluster.py's on a cluster): the
    jobs by stream id, and resuming the ones the last run saved."""

    store: JobStore | None
    _jobs: dict[int, J]
    _lock: Any  # a Lock or RLock guarding _jobs

    def start(self, request: JobRequest, next_seq: int = 0, offset_s: float = 0.0) -> tuple[J, bool]:
        raise NotImplementedError

    def resume(self) -> int:
        """Start every job saved by the last run, each from its resume point; return how many."""
        if self.store is None:
            return 0
        saved = self._load_saved()
        for entry in saved:
            try:
                self.start(entry.request, entry.next_seq, entry.offset_s)
            except OverflowError as exc:
                log.error("stream %s: not resumed: %s", entry.request.stream_id, exc)
        if saved:
            log.info("resumed %d job(s) from %s", len(saved), self.store.path)
        return len(saved)

    def _load_saved(self) -> list[SavedJob]:
        assert self.store is not None
        return self.store.load()

    def get(self, stream_id: int) -> J | None:
        return self._jobs.get(stream_id)

    def all(self) -> list[J]:
        with self._lock:
            return list(self._jobs.values())


class JobManager(JobTable[StreamJob]):
    def __init__(self, ctx: JobContext, max_jobs: int = 20, store: JobStore | None = None):
        self.ctx = ctx
        self.max_jobs = max_jobs
        self.store = store  # None: jobs live in memory only (RESUME_JOBS = False)
        self._jobs: dict[int, StreamJob] = {}
        # What the file holds, kept apart from _jobs: stop_all() at exit stops jobs but keeps them saved.
        self._saved: dict[int, SavedJob] = {}
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()

    def _load_saved(self) -> list[SavedJob]:
        assert self.store is not None
        with self._save_lock:
            return self.store.load()

    def start(self, request: JobRequest, next_seq: int = 0, offset_s: float = 0.0) -> tuple[StreamJob, bool]:
        """Start a job for the request's stream; (job, False) if that stream already has one."""
        with self._lock:
            existing = self._jobs.get(request.stream_id)
            if existing is not None:
                return existing, False
            if len(self._jobs) >= self.max_jobs:
                raise OverflowError(f"this server already runs {self.max_jobs} streams")
            job = (
                VodJob(request, self.ctx) if request.kind == "vod" else StreamJob(request, self.ctx, next_seq, offset_s)
            )
            self._jobs[request.stream_id] = job
        if isinstance(job, VodJob):
            job.on_finish = self._finished  # never saved: a VOD job is not resumed (server/vod.py)
        elif self.store is not None:
            try:
                self._save(job, add=True)
            except OSError as exc:  # disk full: a job that is not on disk would resume nowhere
                with self._lock:
                    self._jobs.pop(request.stream_id, None)
                with self._save_lock:
                    self._saved.pop(request.stream_id, None)
                raise OverflowError(f"cannot save the job: {exc.strerror or exc}") from exc
            job.on_change = self._save
        job.start()
        log.info("stream %s: job started for %s", request.stream_id, request.source)
        return job, True

    def stop(self, stream_id: int, forget: bool = True) -> bool:
        """Stop a job and (unless `forget` is False: server exit) drop it from the jobs file;
        False if there was none. Returns once its threads have ended."""
        with self._lock:
            job = self._jobs.pop(stream_id, None)
        if forget and self.store is not None:
            with self._save_lock:
                if self._saved.pop(stream_id, None) is not None:
                    self.store.save(list(self._saved.values()))
        if job is None:
            return False
        job.stop()
        log.info("stream %s: job stopped", stream_id)
        return True

    def _finished(self, job: VodJob) -> None:
        """A VOD job is done (on its own thread: no join): it leaves the list, its slot is free."""
        with self._lock:
            if self._jobs.get(job.stream_id) is job:
                del self._jobs[job.stream_id]

    def health(self) -> dict:
        """What /healthz adds about where jobs run: here, on this process's threads."""
        return {"executor": "threads"}

    def stop_all(self) -> None:
        """Stop every job for a server exit; the jobs file keeps them for the next start."""
        for job in self.all():
            self.stop(job.stream_id, forget=False)

    def _save(self, job: StreamJob, add: bool = False) -> None:
        """Write the job's request and resume point (on start, each segment and budget change)."""
        with self._save_lock:
            if not add and job.stream_id not in self._saved:
                return  # deleted meanwhile: a late segment must not bring it back
            request = replace(job.request, per_hour=job.per_hour_override)
            next_seq, offset_s = job.resume_point
            self._saved[job.stream_id] = SavedJob(request, next_seq, offset_s)
            assert self.store is not None  # _save is hooked up only when jobs are persisted
            self.store.save(list(self._saved.values()))
