"""The set of running stream jobs, safe to use from concurrent request threads."""

from __future__ import annotations

import logging
import threading

from server.jobs import JobContext, StreamJob
from server.validation import JobRequest

log = logging.getLogger(__name__)


class JobManager:
    def __init__(self, ctx: JobContext, max_jobs: int = 20):
        self.ctx = ctx
        self.max_jobs = max_jobs
        self._jobs: dict[int, StreamJob] = {}
        self._lock = threading.Lock()

    def start(self, request: JobRequest) -> tuple[StreamJob, bool]:
        """Start a job for the request's stream; (job, False) if that stream already has one."""
        with self._lock:
            existing = self._jobs.get(request.stream_id)
            if existing is not None:
                return existing, False
            if len(self._jobs) >= self.max_jobs:
                raise OverflowError(f"this server already runs {self.max_jobs} streams")
            job = StreamJob(request, self.ctx)
            self._jobs[request.stream_id] = job
        job.start()
        log.info("stream %s: job started for %s", request.stream_id, request.source)
        return job, True

    def stop(self, stream_id: int) -> bool:
        """Stop and forget a job; False if there was none. Returns once its threads have ended."""
        with self._lock:
            job = self._jobs.pop(stream_id, None)
        if job is None:
            return False
        job.stop()
        log.info("stream %s: job stopped", stream_id)
        return True

    def get(self, stream_id: int) -> StreamJob | None:
        return self._jobs.get(stream_id)

    def all(self) -> list[StreamJob]:
        with self._lock:
            return list(self._jobs.values())

    def stop_all(self) -> None:
        for job in self.all():
            self.stop(job.stream_id)
