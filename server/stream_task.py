"""The Dask task that runs one stream on a worker until it is told to stop (cluster mode).

`run_stream` is what the server submits (server/cluster.py), with `resources={"streams": 1}` so a
worker takes only as many streams as `python -m server.worker --streams N` says. It runs an
ordinary StreamJob on the worker's own runtime (outbox, upload spool, models: server/runtime.py)
and, once a second, reads its control record and rewrites its state record (server/cluster_state.py).

Idempotent by design: when a worker dies the scheduler reruns the task elsewhere, and the rerun
starts from the latest resume point in the state record, so segment numbers continue and no
highlight key (made of segment numbers) is made twice. A segment is used only once its resume
point is on the scheduler, and only while this task's submission is the current one and its
worker is up: a copy that lost the scheduler or was replaced cuts nothing that counts.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import replace
from typing import Any

from server.cluster_state import JobState, Records
from server.jobs import StreamJob
from server.model_route import ModelRouter
from server.runtime import Runtime
from server.validation import JobRequest

log = logging.getLogger(__name__)

POLL_S = 1.0  # how often a task reads its control record and writes its heartbeat
DEAD_AFTER_S = 5.0  # a state record this old belongs to a task that is no longer running

_runtime: Runtime | None = None
_gone: set[int] = set()  # streams the webapp answered 404 for (this process's outbox)
_gone_lock = threading.Lock()


def install(runtime: Runtime) -> None:
    """Make this process a stream worker (server/worker.py calls it before joining the cluster)."""
    global _runtime
    _runtime = runtime
    runtime.reporter.on_gone = _mark_gone


def _mark_gone(stream_id: int) -> None:
    with _gone_lock:
        _gone.add(stream_id)


def _take_gone(stream_id: int) -> bool:
    with _gone_lock:
        if stream_id in _gone:
            _gone.discard(stream_id)
            return True
        return False


class Superseded(RuntimeError):
    """This copy of the stream must not go on: deleted, replaced, or its worker is closing."""


def run_stream(fields: dict[str, Any], next_seq: int, offset_s: float, submission: str) -> str:
    """Run the stream until stopped; return why: "deleted", "gone", "superseded" or "worker closing"."""
    from distributed import get_client, get_worker
    from distributed.core import Status

    if _runtime is None:
        raise RuntimeError("this Dask worker has no stream runtime: start workers with `python -m server.worker`")
    runtime = _runtime
    worker = get_worker()
    client = get_client()
    records = Records(client)
    if isinstance(runtime.model_worker, ModelRouter):
        runtime.model_worker.attach(worker, client)  # model calls may go to a model worker from now on
    request = JobRequest(**fields)
    stream_id = request.stream_id
    control = records.control(stream_id)
    if control is None or control.submission != submission or control.stop:
        return "superseded"  # deleted or re-submitted while this copy waited for a worker
    attempt = uuid.uuid4().hex[:12]
    previous = _wait_for_previous(records, stream_id, attempt, client)
    if previous is not None and previous.next_seq > next_seq:
        next_seq, offset_s = previous.next_seq, previous.offset_s  # a rerun: go on where the dead copy was
    job = StreamJob(replace(request, per_hour=control.per_hour), runtime.ctx, next_seq, offset_s)
    lock = threading.Lock()  # a heartbeat must never write an older resume point over a newer one

    def write(running: bool, ended: str | None = None) -> None:
        seq, offset = job.resume_point
        with lock:
            records.set_state(
                stream_id,
                JobState(
                    submission,
                    attempt,
                    running,
                    seq,
                    offset,
                    worker.address,
                    str(worker.name),
                    os.getpid(),
                    time.time(),
                    _status(job, runtime),
                    ended,
                ),
            )

    def save(_: StreamJob) -> None:
        """A new resume point (each segment): used only if this copy is still the stream's one."""
        if worker.status != Status.running:
            raise Superseded("the worker is closing")
        current = records.control(stream_id)
        if current is None or current.submission != submission or current.stop:
            raise Superseded("another copy of the stream took over")
        write(True)

    write(True)
    job.on_change = save
    job.start()
    log.info("stream %s: running on %s from segment %d", stream_id, worker.address, next_seq)
    ended = "superseded"
    try:
        while True:
            time.sleep(POLL_S)
            if worker.status != Status.running:
                ended = "worker closing"  # the scheduler is gone or we are shutting down: another runs it
                break
            if _take_gone(stream_id):
                ended = "gone"
                break
            try:
                control = records.control(stream_id)
            except Exception as exc:  # the scheduler is unreachable: the worker closes soon
                log.warning("stream %s: cannot read its control record: %s", stream_id, exc)
                continue
            if control is None or control.stop:
                ended = "deleted"
                break
            if control.submission != submission:
                break  # the server re-submitted it: that copy runs it now
            if control.per_hour != job.per_hour_override:
                job.set_per_hour(control.per_hour)  # the user moved the sensitivity slider
            write(True)  # the heartbeat, and the status GET /api/v1/jobs shows
    finally:
        job.stop()  # its threads, ffmpeg and ring buffer are gone
        if ended in ("deleted", "gone"):
            runtime.reporter.forget(stream_id)  # the webapp no longer has the stream
            runtime.uploader.forget(stream_id)
        try:
            write(False, ended)
        except Exception as exc:  # the scheduler is gone: the server learns it from the task's end
            log.info("stream %s: final state not written: %s", stream_id, exc)
    log.info("stream %s: stopped on %s (%s)", stream_id, worker.address, ended)
    return ended


def _status(job: StreamJob, runtime: Runtime) -> dict[str, Any]:
    """The job's status, with where its model calls run (GET /api/v1/jobs shows both)."""
    status = job.to_dict()
    router = runtime.model_worker
    if isinstance(router, ModelRouter):
        status["models"] = router.status()
        notice = router.notice()
        if notice:
            status["degraded"] = [*status["degraded"], notice]
    return status


def _wait_for_previous(records: Records, stream_id: int, attempt: str, client: Any) -> JobState | None:
    """The stream's latest state, once no other copy is running it: it stopped, its worker left
    the cluster (killed: the scheduler dropped it), or its heartbeat is older than DEAD_AFTER_S.
    Bounded: at most DEAD_AFTER_S + a little."""
    deadline = time.monotonic() + DEAD_AFTER_S + 2 * POLL_S
    while True:
        state = records.state(stream_id)
        if state is None or not state.running or state.attempt == attempt:
            return state
        if time.time() - state.at > DEAD_AFTER_S or time.monotonic() > deadline:
            return state
        if state.worker not in client.scheduler_info(n_workers=-1).get("workers", {}):
            return state
        time.sleep(POLL_S / 4)
