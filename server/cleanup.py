"""Storage that never grows without bound: a deleted stream's clips go after a grace period, and
(optionally) every clip older than STORAGE_RETENTION_DAYS goes too.

Scheduled deletions live in a small JSON file (written atomically) with their wall-clock due time,
so a server restart during the grace period still deletes them. A deletion that fails (storage
down) stays scheduled and is tried again on the next tick.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from pathlib import Path

from durable import write_atomically
from server.storage import Storage, StorageError

log = logging.getLogger(__name__)


class StorageJanitor:
    def __init__(
        self,
        storage: Storage,
        state_path: Path,
        grace_s: float = 600.0,
        retention_days: float | None = None,
        tick_s: float = 5.0,
        retention_every_s: float = 3600.0,
    ):
        if grace_s < 0:
            raise ValueError(f"STORAGE_DELETE_GRACE_S must be >= 0, got {grace_s}")
        if retention_days is not None and retention_days <= 0:
            raise ValueError(f"STORAGE_RETENTION_DAYS must be > 0 (or unset), got {retention_days}")
        self.storage = storage
        self.state_path = Path(state_path)
        self.grace_s = grace_s
        self.retention_days = retention_days
        self.tick_s = tick_s
        self.retention_every_s = retention_every_s
        self.last_error: str | None = None
        self.deleted = 0
        self._due: dict[int, float] = self._read()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._next_sweep = 0.0
        self._thread = threading.Thread(target=self._run, name="storage-janitor", daemon=True)

    def start(self) -> None:
        if self._due:
            log.info("storage: %d stream deletion(s) still scheduled from the last run", len(self._due))
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def scheduled(self) -> dict[int, float]:
        """Stream id -> when (epoch seconds) its clips will be deleted."""
        with self._lock:
            return dict(self._due)

    def schedule(self, stream_id: int) -> float:
        """Delete the stream's clips `grace_s` from now (the earlier time wins if already scheduled)."""
        with self._lock:
            due = min(self._due.get(stream_id, float("inf")), time.time() + self.grace_s)
            self._due[stream_id] = due
            self._write()
        log.info("stream %s: clips will be deleted from storage in %.0f s", stream_id, due - time.time())
        return due

    def cancel(self, stream_id: int) -> None:
        """The stream is tracked again: keep its clips."""
        with self._lock:
            if self._due.pop(stream_id, None) is not None:
                self._write()
                log.info("stream %s: tracked again, its clips are kept", stream_id)

    def run_once(self, now: float | None = None) -> None:
        """Delete what is due; sweep old clips when retention is on and a sweep is due."""
        now = time.time() if now is None else now
        for stream_id in [s for s, due in self.scheduled.items() if due <= now]:
            try:
                count = self.storage.delete_prefix(f"{stream_id}/")
            except StorageError as exc:
                self._fail(f"deleting stream {stream_id}'s clips failed, will retry: {exc}")
                continue
            with self._lock:
                self._due.pop(stream_id, None)
                self._write()
            self.deleted += count
            log.info("stream %s: deleted %d file(s) from storage", stream_id, count)
        if self.retention_days and now >= self._next_sweep:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        assert self.retention_days is not None  # swept only when retention is set
        try:
            count = self.storage.delete_older_than(now - self.retention_days * 86400)
        except StorageError as exc:
            self._fail(f"retention sweep failed, will retry: {exc}")
            return
        self._next_sweep = now + self.retention_every_s
        self.deleted += count
        if count:
            log.info("storage: deleted %d file(s) older than %g days", count, self.retention_days)

    def _fail(self, reason: str) -> None:
        if reason != self.last_error:
            log.warning("%s", reason)
        self.last_error = reason

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the janitor must never die silently
                log.exception("storage janitor failed")
            self._stop.wait(self.tick_s)

    def _read(self) -> dict[int, float]:
        try:
            data = json.loads(self.state_path.read_text())
            return {int(k): float(v) for k, v in data["deletes"].items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{self.state_path} is not a deletion schedule: {exc}") from exc

    def _write(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.state_path, json.dumps({"deletes": {str(k): v for k, v in self._due.items()}}))


def remove_stale_ring_buffers(data_dir: Path) -> int:
    """At start-up no job runs yet: ring buffers left by a crash are garbage. Return how many."""
    folder = Path(data_dir) / "segments"
    if not folder.is_dir():
        return 0
    stale = [p for p in folder.iterdir() if p.is_dir()]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    if stale:
        log.info("removed %d ring buffer(s) left by the last run", len(stale))
    return len(stale)
