"""Report segment scores, highlights and job status to the webapp, in order, surviving its downtime.

One outbox thread for the whole server. A message stays at the head of the queue until the
webapp answers 2xx; connection errors and 5xx are retried with exponential backoff. A 404 means
the stream was deleted in the webapp: everything queued for it is dropped and the job is told.

With a `journal_dir` (DATA_DIR/outbox) the queue also survives a server restart: each queued
message is one JSON file named by a monotonic counter (000000000042.json, written atomically and
synced, durable.py), deleted once the message is done with. A new Reporter loads the
folder in name order, so undelivered reports are re-sent, in order, before anything new. A file
that cannot be read is logged and renamed *.bad. A message posted with `on_done` is NOT
journaled: callbacks exist only in memory, and their owner keeps its own durable record (the
upload spool re-reports its highlights after a restart, server/spool.py), so journaling it too
would only send it twice.
"""

from __future__ import annotations

import json
import logging
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from durable import write_atomically
from server.background import BackgroundLoop

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    stream_id: int
    url: str
    payload: dict
    on_done: Callable[[], None] | None = field(default=None, compare=False)  # once sent or refused for good
    file: Path | None = field(default=None, compare=False)  # its journal entry, if journaled


class Reporter(BackgroundLoop):
    def __init__(self, token: str, timeout: float = 10.0, min_backoff: float = 1.0, max_backoff: float = 60.0,
                 max_pending: int = 10000, on_gone: Callable[[int], None] | None = None,
                 journal_dir: Path | None = None):
        super().__init__("reporter")
        self.token = token
        self.timeout = timeout
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.on_gone = on_gone
        self.max_pending = max_pending
        self._queue: deque[Message] = deque()
        self.journal_dir = journal_dir
        self._counter = 0
        if journal_dir is not None:
            self._load_journal(journal_dir)
        self._http = requests.Session()
        self.last_error: str | None = None
        self.sent = 0

    @property
    def pending(self) -> int:
        return len(self._queue)

    def post(self, stream_id: int, url: str, payload: dict, on_done: Callable[[], None] | None = None) -> None:
        """Queue a JSON POST to `url`; it is sent as soon as the webapp takes it, then `on_done` runs."""
        with self._wake:
            if len(self._queue) >= self.max_pending:
                oldest = self._queue.popleft()
                log.error("outbox full: dropping the oldest message (%s)", oldest.url)
                _unlink(oldest)
            journaled = self.journal_dir is not None and on_done is None
            self._queue.append(Message(stream_id, url, payload, on_done,
                                       self._journal(stream_id, url, payload) if journaled else None))
            self._wake.notify_all()

    # --- the journal (held under self._wake) ----------------------------------------------------

    def _load_journal(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for tmp in folder.glob(".*.tmp"):  # a write cut short by a crash: never queued
            tmp.unlink(missing_ok=True)
        for path in sorted(folder.glob("*.json")):
            try:
                self._counter = max(self._counter, int(path.stem) + 1)
                data = json.loads(path.read_text(encoding="utf-8"))
                message = Message(int(data["stream_id"]), str(data["url"]), dict(data["payload"]), file=path)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error("outbox: unreadable journal entry %s (%s); renamed *.bad", path.name, exc)
                os.replace(path, path.with_suffix(".bad"))
                continue
            self._queue.append(message)
        if self._queue:
            log.info("outbox: %d report(s) left by the last run, sending them first", len(self._queue))

    def _journal(self, stream_id: int, url: str, payload: dict) -> Path | None:
        """Write one queued message to disk; None (memory only) if the disk refuses."""
        assert self.journal_dir is not None  # called only when the outbox is journalled
        path = self.journal_dir / f"{self._counter:012d}.json"
        self._counter += 1
        try:
            write_atomically(path, json.dumps({"stream_id": stream_id, "url": url, "payload": payload}))
        except OSError as exc:
            log.error("outbox: cannot journal %s (%s); it is kept in memory only", url, exc)
            return None
        return path

    def _run(self) -> None:
        backoff = self.min_backoff
        while True:
            with self._wake:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                message = self._queue[0]
            if self._deliver(message):
                backoff = self.min_backoff
                continue
            with self._wake:
                self._wake.wait(backoff)  # a stop() interrupts the wait
            backoff = min(backoff * 2, self.max_backoff)

    def _deliver(self, message: Message) -> bool:
        """Send the head message; True when it is done with (sent or refused for good)."""
        try:
            response = self._http.post(message.url, json=message.payload, timeout=self.timeout,
                                       headers={"Authorization": f"Bearer {self.token}"})
        except requests.RequestException as exc:
            self._fail(f"webapp unreachable: {exc.__class__.__name__}")
            return False
        if response.status_code >= 500:
            self._fail(f"webapp answered {response.status_code}")
            return False
        self._pop(message)
        if response.status_code == 404:
            self._forget(message.stream_id)
        elif response.status_code >= 400:
            log.error("webapp refused %s: %s %s", message.url, response.status_code, response.text[:200])
        else:
            self.sent += 1
            self.last_error = None
        return True

    def _fail(self, reason: str) -> None:
        if reason != self.last_error:
            log.warning("%s; %d message(s) kept for retry", reason, self.pending)
        self.last_error = reason

    def _pop(self, message: Message) -> None:
        with self._wake:
            if self._queue and self._queue[0] is message:
                self._queue.popleft()
                _unlink(message)
        _done(message)

    def _forget(self, stream_id: int) -> None:
        with self._wake:
            kept = [m for m in self._queue if m.stream_id != stream_id]
            dropped = [m for m in self._queue if m.stream_id == stream_id]
            self._queue.clear()
            self._queue.extend(kept)
        for message in dropped:
            _unlink(message)
            _done(message)
        log.info("stream %s is gone from the webapp; dropped its pending reports", stream_id)
        if self.on_gone:
            self.on_gone(stream_id)


def _unlink(message: Message) -> None:
    if message.file is not None:
        try:
            message.file.unlink(missing_ok=True)
        except OSError as exc:  # it would be sent again after a restart: harmless, reports are idempotent
            log.warning("outbox: cannot remove journal entry %s: %s", message.file.name, exc)


def _done(message: Message) -> None:
    if message.on_done is None:
        return
    try:
        message.on_done()
    except Exception:  # a callback's bug must not stop the outbox
        log.exception("outbox: on_done of %s failed", message.url)
