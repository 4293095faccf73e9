"""Cluster mode (EXECUTOR = "dask"): the server hands stream jobs to Dask workers and watches them.

The server stays the webapp's only contact (same API), and the single writer of each stream's
control record; the jobs run on worker processes (`python -m server.worker`, server/stream_task.py).
A monitor thread, once a second:
- connects to the scheduler (again, after it was restarted) and submits every job that has no
  live task: new ones, ones whose task ended or failed, and all of them when the scheduler is a
  new one (it lost its tasks and records);
- reads each job's state record: its status and worker for GET /api/v1/jobs and /healthz, and its
  resume point, which it copies into DATA_DIR/jobs.json (server/job_store.py) so that a restarted
  scheduler, or this server restarted, resumes each stream where it was.

A worker that dies needs none of this: the scheduler reruns its tasks on the other workers, and
each rerun reads the resume point from the state record (docs/scaling.md).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

from appconfig import ImproperlyConfigured
from backoff import Backoff
from server.cluster_state import Control, JobState, Records, task_key
from server.job_store import JobStore, SavedJob
from server.manager import JobTable
from server.model_service import RESOURCE as MODEL_RESOURCE
from server.validation import JobRequest

log = logging.getLogger(__name__)

EXECUTORS = ("threads", "dask")
# After a scheduler restart the latest resume point may be up to one monitor poll newer than the
# server's copy: skipping this many segment numbers means a resumed stream never repeats one.
RESUBMIT_SKIP = 1


def check_executor(config: Any) -> None:
    """EXECUTOR is "threads" or "dask"; cluster mode stores clips where every machine can (GCS)."""
    executor = str(config["EXECUTOR"]).strip().lower()
    if executor not in EXECUTORS:
        raise ImproperlyConfigured(f"EXECUTOR={config['EXECUTOR']!r}: must be one of {', '.join(EXECUTORS)}")
    config["EXECUTOR"] = executor
    backend = str(config.get("STORAGE_BACKEND") or "local").lower()
    if executor == "dask" and backend != "gcs":
        raise ImproperlyConfigured(
            f'EXECUTOR="dask" needs STORAGE_BACKEND="gcs", not {backend!r}: in cluster mode clips are cut on the '
            "worker machines, and a local folder there is neither served by this server nor kept when that "
            "machine dies (docs/scaling.md)"
        )


class RemoteJob:
    """A stream job as the server sees it in cluster mode: the request, the current submission,
    and the status its task last wrote."""

    def __init__(self, manager: ClusterJobManager, request: JobRequest, next_seq: int, offset_s: float):
        self._manager = manager
        self.request = request
        self.stream_id = request.stream_id
        self.per_hour_override = request.per_hour
        self.next_seq, self.offset_s = next_seq, offset_s
        self.submission: str | None = None
        self.future: Any = None
        self.status: JobState | None = None  # the current submission's latest state record
        self.skip = 0  # segment numbers to skip on the next submission (the scheduler lost its records)
        # A task that keeps failing (an error on every worker) is submitted again after a growing pause.
        self.retry = Backoff(1.0, 60.0)
        self.not_before = 0.0  # monotonic time of the next submission
        self.task_error: str | None = None  # why its last task ended, if it failed

    @property
    def resume_point(self) -> tuple[int, float]:
        return self.next_seq, self.offset_s

    def set_per_hour(self, per_hour: float | None) -> None:
        self._manager.set_per_hour(self, per_hour)

    @property
    def worker(self) -> dict | None:
        status = self.status
        if status is None or not status.running:
            return None
        return {"address": status.worker, "name": status.worker_name, "pid": status.pid}

    def to_dict(self) -> dict:
        status = self.status
        job: dict[str, Any] = {
            "stream_id": self.stream_id,
            "source": self.request.source,
            "state": "starting",  # submitted, waiting for a worker with a free stream slot
            "segments_done": 0,
            "highlights": 0,
            "last_error": None,
            "lag_s": None,
            "degraded": [],
            "highlights_per_hour": self.per_hour_override,
            "bar": None,
        }
        if self.task_error is not None:
            job["last_error"] = self.task_error
        if status is not None:
            job.update(status.job)
            if not status.running:
                job["state"] = "starting"  # its worker stopped it; the next copy is on its way
        if self.per_hour_override is not None:  # the user's, at once: the worker takes it within a second
            job["highlights_per_hour"] = self.per_hour_override
        if self._manager.connected is False:
            job["degraded"] = [*job["degraded"], "scheduler unreachable: status may be stale"]
        job["worker"] = self.worker
        return job


class ClusterJobManager(JobTable[RemoteJob]):
    """The JobManager interface (server/manager.py) over a Dask cluster."""

    poll_s = 1.0
    stop_timeout_s = 20.0  # how long DELETE waits for the worker to say the stream stopped

    def __init__(
        self,
        scheduler: str,
        max_jobs: int = 20,
        store: JobStore | None = None,
        segment_seconds: float = 10.0,
        on_gone: Callable[[int], None] | None = None,
    ):
        self.scheduler = scheduler
        self.max_jobs = max_jobs
        self.store = store
        self.segment_seconds = segment_seconds
        self.on_gone = on_gone  # the webapp answered 404 to a worker: the stream is deleted there
        self.connected: bool | None = None  # None until the first attempt
        self.workers = 0
        self.model_workers: list[dict] = []  # workers serving the models (`server.worker --models`)
        self.last_error: str | None = None
        self._jobs: dict[int, RemoteJob] = {}
        self._lock = threading.RLock()
        self._client: Any = None
        self._records: Records | None = None
        self._scheduler_id: str | None = None
        self._saved: list[SavedJob] | None = None  # what jobs.json holds, to write it only on change
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._monitor, name="cluster-monitor", daemon=True)
        self._thread.start()

    # --- the JobManager interface ------------------------------------------------------------

    # resume() (JobTable): the saved jobs are (re-)submitted by the monitor, and a copy still
    # running from before stops when it sees the new submission.

    def start(self, request: JobRequest, next_seq: int = 0, offset_s: float = 0.0) -> tuple[RemoteJob, bool]:
        with self._lock:
            existing = self._jobs.get(request.stream_id)
            if existing is not None:
                return existing, False
            if len(self._jobs) >= self.max_jobs:
                raise OverflowError(f"this server already runs {self.max_jobs} streams")
            job = RemoteJob(self, request, next_seq, offset_s)
            self._jobs[request.stream_id] = job
            try:
                self._persist()
            except OSError as exc:  # disk full: a job that is not on disk would resume nowhere
                self._jobs.pop(request.stream_id, None)
                raise OverflowError(f"cannot save the job: {exc.strerror or exc}") from exc
        self._wake.set()  # the monitor submits it now
        log.info("stream %s: job queued for the cluster (%s)", request.stream_id, request.source)
        return job, True

    def stop(self, stream_id: int, forget: bool = True) -> bool:
        """Stop the stream on whichever worker runs it; returns once that worker says it stopped
        (at most stop_timeout_s), or at once if no worker runs it."""
        with self._lock:
            job = self._jobs.pop(stream_id, None)
            if forget:
                self._persist()
        if job is None:
            return False
        records = self._records
        if records is not None and job.submission is not None:
            try:
                records.set_control(stream_id, Control(job.submission, stop=True, per_hour=job.per_hour_override))
                self._wait_stopped(records, job)
                if job.future is not None:
                    job.future.cancel()  # a copy still waiting for a worker never starts
                records.forget(stream_id)
            except Exception as exc:  # the scheduler is unreachable: its tasks end with it
                log.warning("stream %s: stop not confirmed by the cluster: %s", stream_id, exc)
        log.info("stream %s: job stopped", stream_id)
        return True

    def stop_all(self) -> None:
        """Server exit: stop watching. The streams go on running on the workers; the next server
        start takes them over (resume)."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(10)
        if self._client is not None:
            try:
                self._client.close(timeout=5)
            except Exception:
                log.debug("closing the Dask client failed", exc_info=True)

    def health(self) -> dict:
        return {
            "executor": "dask",
            "scheduler": self.scheduler,
            "scheduler_connected": bool(self.connected),
            "scheduler_error": self.last_error,
            "workers": self.workers,
            "model_workers": self.model_workers,  # each stream's job says whether it uses them ("models")
            "streams": {str(job.stream_id): job.worker for job in self.all()},
        }

    def set_per_hour(self, job: RemoteJob, per_hour: float | None) -> None:
        """The user's highlight budget: saved here, and sent to the worker through the control record."""
        with self._lock:
            job.per_hour_override = per_hour
            job.request = replace(job.request, per_hour=per_hour)
            self._persist()
        records = self._records
        if records is not None and job.submission is not None:
            try:
                records.set_control(job.stream_id, Control(job.submission, per_hour=per_hour))
            except Exception as exc:  # the next submission carries it
                log.warning("stream %s: budget not sent to the cluster yet: %s", job.stream_id, exc)

    # --- the monitor -------------------------------------------------------------------------

    def _monitor(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._connect():
                    self._check_jobs()
            except Exception as exc:
                self.last_error = f"{exc.__class__.__name__}: {exc}"
                log.exception("cluster monitor")
            self._wake.wait(self.poll_s)
            self._wake.clear()

    def _connect(self) -> bool:
        """A running client; after a scheduler restart every job is submitted again."""
        from distributed import Client

        client = self._client
        if client is not None and client.status not in ("running", "connecting", "newly-created"):
            client.close(timeout=2)
            client = self._client = None
        if client is None:
            try:
                client = Client(self.scheduler, timeout=5, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                self.connected, self.last_error = False, f"cannot reach the scheduler {self.scheduler}: {exc}"
                log.warning("%s", self.last_error)
                return False
            self._client, self._records = client, Records(client)
        try:
            info = client.scheduler_info(n_workers=-1)
        except Exception as exc:  # mid-reconnect
            info = {"error": exc}
        if "id" not in info:  # a client that lost its scheduler answers with nothing
            self.connected, self.last_error = False, f"the scheduler {self.scheduler} does not answer"
            return False
        self.connected, self.last_error = True, None
        self.workers = len(info.get("workers", {}))
        self.model_workers = [
            {"address": address, "name": str(worker.get("name"))}
            for address, worker in sorted(info.get("workers", {}).items())
            if (worker.get("resources") or {}).get(MODEL_RESOURCE)
        ]
        if self._scheduler_id is not None and info["id"] != self._scheduler_id:
            log.warning("a new scheduler (%s): submitting all %d job(s) again", info["id"], len(self._jobs))
            with self._lock:
                for job in self._jobs.values():
                    job.submission, job.future, job.status = None, None, None
                    job.skip = RESUBMIT_SKIP
        self._scheduler_id = info["id"]
        return True

    def _check_jobs(self) -> None:
        assert self._records is not None
        records = self._records
        for job in self.all():
            if job.submission is None:
                if time.monotonic() >= job.not_before:
                    self._submit(job)
                continue
            state = records.state(job.stream_id)
            if state is not None and state.submission == job.submission:
                if state.running and job.status is None:
                    job.retry.reset()  # it runs: a later failure starts the pauses afresh
                    job.task_error = None
                job.status = state
                if (state.next_seq, state.offset_s) > job.resume_point:
                    with self._lock:
                        job.next_seq, job.offset_s = state.next_seq, state.offset_s
            future = job.future
            if future is None or not future.done():
                continue
            if job.stream_id not in self._jobs:
                continue  # deleted meanwhile
            if future.status == "finished" and future.result() == "gone":  # the webapp no longer has the stream
                log.info("stream %s: the webapp deleted it; job ended", job.stream_id)
                self.stop(job.stream_id)
                if self.on_gone is not None:
                    self.on_gone(job.stream_id)
                continue
            if future.status == "error":
                job.task_error = f"the stream's task failed: {future.exception()!r}"
            outcome = future.result() if future.status == "finished" else job.task_error or future.status
            delay = job.retry.next()
            log.warning("stream %s: its task ended (%s); submitting it again in %.0f s", job.stream_id, outcome, delay)
            job.submission, job.future = None, None
            job.not_before = time.monotonic() + delay
        with self._lock:
            self._persist()

    def _submit(self, job: RemoteJob) -> None:
        from distributed import fire_and_forget

        from server.stream_task import run_stream

        assert self._client is not None and self._records is not None
        # Under the lock from check to submit: a DELETE either finds the submission to stop, or
        # took the job away before it was submitted.
        with self._lock:
            if self._jobs.get(job.stream_id) is not job:
                return
            if job.skip:
                job.next_seq += job.skip
                job.offset_s += job.skip * self.segment_seconds
                job.skip = 0
            submission = uuid.uuid4().hex[:12]
            request = replace(job.request, per_hour=job.per_hour_override)
            next_seq, offset_s = job.resume_point
            # Control first: the task checks it is the current submission before it cuts anything.
            self._records.set_control(job.stream_id, Control(submission, per_hour=job.per_hour_override))
            future = self._client.submit(
                run_stream,
                asdict(request),
                next_seq,
                offset_s,
                submission,
                key=task_key(job.stream_id, submission),
                resources={"streams": 1},
                pure=False,
            )
            fire_and_forget(future)  # it runs on even if this server restarts
            job.submission, job.future, job.status = submission, future, None
        log.info("stream %s: submitted to %s from segment %d", job.stream_id, self.scheduler, next_seq)

    def _wait_stopped(self, records: Records, job: RemoteJob) -> None:
        deadline = time.monotonic() + self.stop_timeout_s
        while time.monotonic() < deadline:
            state = records.state(job.stream_id)
            if state is None or state.submission != job.submission or not state.running:
                return
            if job.future is not None and job.future.done():
                return
            if time.time() - state.at > 5.0:  # its worker died: nothing runs it
                return
            time.sleep(0.2)
        log.warning("stream %s: its worker did not confirm the stop in %.0f s", job.stream_id, self.stop_timeout_s)

    def _persist(self) -> None:
        """Write jobs.json when the set of jobs or a resume point changed (caller holds the lock)."""
        if self.store is None:
            return
        saved = [
            SavedJob(replace(j.request, per_hour=j.per_hour_override), *j.resume_point) for j in self._jobs.values()
        ]
        if saved != self._saved:
            self.store.save(saved)
            self._saved = saved
