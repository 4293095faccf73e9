"""The two records a stream job keeps on the Dask scheduler, where the server and every worker reach them.

Why the scheduler (Dask `Variable`s) and not a worker's disk: when a worker dies its task is rerun
on another machine, which must read where the stream got to. The scheduler is the one process
every worker and the server already talk to, so it needs no store of its own. It keeps them in
memory only: the server copies each resume point into its own DATA_DIR/jobs.json, and re-submits
its jobs from there when a restarted scheduler has lost them (server/cluster.py).

- control (written by the server only): which submission of the job is the current one, whether
  it must stop (the trash button), the user's highlight budget. A task that finds another
  submission named here, or none, ends: that is what fences off a stale copy of a stream.
- state (written by the task that runs the stream): its resume point (next segment number and
  stream offset), the worker and process running it, a heartbeat time and the job's status as
  GET /api/v1/jobs shows it.

Values are JSON text: the scheduler stores and hands back plain strings, never pickled objects.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

PREFIX = "highlights"


def control_name(stream_id: int) -> str:
    return f"{PREFIX}-control-{stream_id}"


def state_name(stream_id: int) -> str:
    return f"{PREFIX}-state-{stream_id}"


def task_key(stream_id: int, submission: str) -> str:
    return f"{PREFIX}-stream-{stream_id}-{submission}"


@dataclass(frozen=True)
class Control:
    submission: str
    stop: bool = False
    per_hour: float | None = None


@dataclass(frozen=True)
class JobState:
    submission: str
    attempt: str  # one run of the task: a rerun after a worker died has a new one
    running: bool
    next_seq: int
    offset_s: float
    worker: str  # the Dask worker's address
    worker_name: str
    pid: int
    at: float  # wall-clock time of this write: a running task rewrites it every second
    job: dict[str, Any] = field(default_factory=dict)  # StreamJob.to_dict()
    ended: str | None = None  # why it stopped: "deleted", "gone", "superseded", "worker closing"


def encode(record: Control | JobState) -> str:
    return json.dumps(asdict(record))


def decode_control(text: object) -> Control | None:
    data = _load(text)
    return None if data is None else Control(**data)


def decode_state(text: object) -> JobState | None:
    data = _load(text)
    return None if data is None else JobState(**data)


def _load(text: object) -> dict | None:
    if not isinstance(text, str) or not text:
        return None
    data = json.loads(text)
    return data if isinstance(data, dict) else None


class Records:
    """The control and state records of every stream, through one Dask client (thread-safe calls
    from any thread but the client's event loop)."""

    def __init__(self, client: Any):
        from distributed import Variable

        self._client = client
        self._variable = Variable

    def control(self, stream_id: int) -> Control | None:
        return decode_control(self._get(control_name(stream_id)))

    def set_control(self, stream_id: int, control: Control) -> None:
        self._variable(control_name(stream_id), client=self._client).set(encode(control))

    def state(self, stream_id: int) -> JobState | None:
        return decode_state(self._get(state_name(stream_id)))

    def set_state(self, stream_id: int, state: JobState) -> None:
        self._variable(state_name(stream_id), client=self._client).set(encode(state))

    def forget(self, stream_id: int) -> None:
        for name in (control_name(stream_id), state_name(stream_id)):
            self._variable(name, client=self._client).delete()

    def _get(self, name: str) -> object:
        try:
            return self._variable(name, client=self._client).get(timeout=0.01)
        except TimeoutError:  # never set (or deleted)
            return None
