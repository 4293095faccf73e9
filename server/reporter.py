"""Report segment scores, highlights and job status to the webapp, in order per stream, surviving
its downtime, and without one stream's undeliverable report holding back any other stream's.

One outbox thread for the whole server, one queue per stream. The thread takes turns among the
streams whose head message is due; a message stays at the head of its stream's queue until the
webapp takes it, so each stream's reports arrive in order. A failure (connection error, 5xx, a
404 that is not the API's own) backs off that stream only (exponential, up to `max_backoff`);
the other streams go on.

What ends a message's life other than a 2xx:
- the API's own 404 (`{"error": "no such stream"}`, JSON): the stream was deleted in the webapp;
  everything queued for it is dropped and `on_gone` runs. Any other 404 (an HTML page from a
  wrong callback prefix, a proxy's) is a failure to retry: it must never delete a stream.
- a poison message is *parked*: a 400-class refusal of the payload at once, or a 5xx `max_tries`
  times while the same webapp (callback origin) took other reports meanwhile, so the webapp is up
  and it is this message it cannot take. A parked message moves to `outbox/parked/` with its
  reason, the stream's queue goes on, and `parked_note(stream_id)` says so in the job's status.
  A webapp that is down (connection errors, or failing everything) never parks anything.
- `forget(stream_id)` (the job was DELETEd): its queue and parked messages are purged.

With a `journal_dir` (DATA_DIR/outbox) the queues survive a server restart: each queued message
is one JSON file named by a monotonic counter (000000000042.json, written atomically and synced,
durable.py), deleted once the message is done with. A new Reporter loads the folder in name order
into the per-stream queues, so undelivered reports are re-sent, in order per stream, before
anything new. A file that cannot be read is logged and renamed *.bad. A message posted with
`on_done` is NOT journaled: callbacks exist only in memory, and their owner keeps its own durable
record (the upload spool re-reports its highlights after a restart, server/spool.py), so
journaling it too would only send it twice.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from backoff import next_delay
from durable import write_atomically
from server.background import BackgroundLoop

log = logging.getLogger(__name__)

GONE_ERROR = "no such stream"  # the webapp API's 404 body for a deleted stream (docs/contract.md)
RETRY_STATUSES = (401, 403, 404, 408, 429)  # configuration or load, not this payload: retry, never park


@dataclass(frozen=True)
class Message:
    stream_id: int
    url: str
    payload: dict
    on_done: Callable[[], None] | None = field(default=None, compare=False)  # once sent or refused for good
    file: Path | None = field(default=None, compare=False)  # its journal entry, if journaled

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"


@dataclass
class _StreamQueue:
    messages: deque[Message] = field(default_factory=deque)
    next_try: float = 0.0  # monotonic time the head may be sent
    backoff: float = 0.0
    failed_since: float | None = None  # monotonic time the head first failed
    strikes: int = 0  # failures of the head while its webapp took other reports
    last_error: str | None = None


class Reporter(BackgroundLoop):
    def __init__(
        self,
        token: str,
        timeout: float | tuple[float, float] = (3.05, 10.0),
        min_backoff: float = 1.0,
        max_backoff: float = 60.0,
        max_pending: int = 10000,
        on_gone: Callable[[int], None] | None = None,
        journal_dir: Path | None = None,
        max_tries: int = 5,
    ):
        super().__init__("reporter")
        self.token = token
        self.timeout = timeout
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.on_gone = on_gone
        self.max_pending = max_pending
        self.max_tries = max_tries
        self._streams: dict[int, _StreamQueue] = {}  # insertion order = whose turn is next
        self._origin_ok: dict[str, float] = {}  # callback origin -> monotonic time of its last 2xx
        self._parked: dict[int, list[str]] = {}  # stream -> reasons of its parked messages
        self.journal_dir = journal_dir
        self._counter = 0
        if journal_dir is not None:
            self._load_journal(journal_dir)
        self._http = requests.Session()
        self.last_error: str | None = None
        self.sent = 0

    @property
    def pending(self) -> int:
        with self._wake:
            return sum(len(q.messages) for q in self._streams.values())

    @property
    def parked(self) -> int:
        with self._wake:
            return sum(len(reasons) for reasons in self._parked.values())

    def pending_for(self, stream_id: int) -> int:
        with self._wake:
            queue = self._streams.get(stream_id)
            return len(queue.messages) if queue else 0

    def parked_note(self, stream_id: int) -> str | None:
        """Words for the job's status when reports of this stream were parked, else None."""
        with self._wake:
            reasons = self._parked.get(stream_id)
            if not reasons:
                return None
            return (
                f"{len(reasons)} report(s) to the webapp set aside after repeated failures "
                f"(last: {reasons[-1]}); the stream's later reports go on"
            )

    def post(self, stream_id: int, url: str, payload: dict, on_done: Callable[[], None] | None = None) -> None:
        """Queue a JSON POST to `url`; it is sent as soon as the webapp takes it, then `on_done` runs."""
        with self._wake:
            if sum(len(q.messages) for q in self._streams.values()) >= self.max_pending:
                longest = max(self._streams.values(), key=lambda q: len(q.messages))
                oldest = longest.messages.popleft()
                log.error("outbox full: dropping the oldest message of stream %s (%s)", oldest.stream_id, oldest.url)
                _unlink(oldest)
            journaled = self.journal_dir is not None and on_done is None
            message = Message(
                stream_id, url, payload, on_done, self._journal(stream_id, url, payload) if journaled else None
            )
            self._streams.setdefault(stream_id, _StreamQueue()).messages.append(message)
            self._wake.notify_all()

    def forget(self, stream_id: int) -> int:
        """Purge everything queued or parked for a deleted stream; return how many messages."""
        with self._wake:
            queue = self._streams.pop(stream_id, None)
            dropped = list(queue.messages) if queue else []
            self._parked.pop(stream_id, None)
        for message in dropped:
            _unlink(message)
            _done(message)
        if self.journal_dir is not None:
            for path in (self.journal_dir / "parked").glob(f"*-s{stream_id}.json"):
                path.unlink(missing_ok=True)
        if dropped:
            log.info("stream %s: dropped %d pending report(s)", stream_id, len(dropped))
        return len(dropped)

    # --- the journal ---------------------------------------------------------------------------

    def _load_journal(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for tmp in folder.glob(".*.tmp"):  # a write cut short by a crash: never queued
            tmp.unlink(missing_ok=True)
        count = 0
        for path in sorted(folder.glob("*.json")):
            try:
                self._counter = max(self._counter, int(path.stem) + 1)
                data = json.loads(path.read_text(encoding="utf-8"))
                message = Message(int(data["stream_id"]), str(data["url"]), dict(data["payload"]), file=path)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error("outbox: unreadable journal entry %s (%s); renamed *.bad", path.name, exc)
                os.replace(path, path.with_suffix(".bad"))
                continue
            self._streams.setdefault(message.stream_id, _StreamQueue()).messages.append(message)
            count += 1
        for path in sorted((folder / "parked").glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self._parked.setdefault(int(data["stream_id"]), []).append(str(data["reason"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a parked file is for a human to read; a bad one does not matter here
        if count:
            log.info("outbox: %d report(s) left by the last run, sending them first", count)

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

    # --- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and (message := self._next_due()) is None:
                    self._wake.wait(self._wait_time())
                if self._stopping:
                    return
            assert message is not None  # the wait above ends on a message or on stop
            self._deliver(message)

    def _next_due(self) -> Message | None:
        """The head of the first stream in turn whose head is due; that stream goes last in turn."""
        now = time.monotonic()
        for stream_id, queue in self._streams.items():
            if queue.messages and queue.next_try <= now:
                self._streams[stream_id] = self._streams.pop(stream_id)  # round robin
                return queue.messages[0]
        return None

    def _wait_time(self) -> float | None:
        waits = [q.next_try for q in self._streams.values() if q.messages]
        return max(min(waits) - time.monotonic(), 0.01) if waits else None

    def _deliver(self, message: Message) -> None:
        try:
            response = self._http.post(
                message.url,
                json=message.payload,
                timeout=self.timeout,
                headers={"Authorization": f"Bearer {self.token}"},
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            self._failed(message, f"webapp unreachable: {exc.__class__.__name__}", counts=False)
            return
        status = response.status_code
        if 200 <= status < 300:
            self._origin_ok[message.origin] = time.monotonic()
            self.sent += 1
            self.last_error = None
            self._finish(message)
        elif status == 404 and _is_gone(response):
            self._finish(message)
            self._gone(message.stream_id)
        elif status >= 500:
            self._failed(message, f"webapp answered {status}", counts=True)
        elif status in RETRY_STATUSES or status < 200 or 300 <= status < 400:
            if status == 404:  # not the API's own: a wrong callback prefix, a proxy page
                log.error(
                    "%s answered 404 without the API's JSON body: wrong callback URL? retrying, "
                    "the stream is not deleted",
                    message.url,
                )
            self._failed(message, f"webapp answered {status}", counts=False)
        else:  # the webapp refused this payload (400, 413, 422): it will never take it
            log.error("webapp refused %s: %s %s", message.url, status, response.text[:200])
            self._park(message, f"webapp refused it with {status}")

    def _failed(self, message: Message, reason: str, counts: bool) -> None:
        """Back off the message's stream; park the message when it is the one thing that fails."""
        if reason != self.last_error:
            log.warning("%s (%s); %d message(s) kept for retry", reason, message.url, self.pending)
        self.last_error = reason
        with self._wake:
            if not self._is_head(message):
                return  # forgotten meanwhile
            queue = self._streams[message.stream_id]
            now = time.monotonic()
            if queue.failed_since is None:
                queue.failed_since = now
            elif counts and self._origin_ok.get(message.origin, -1.0) > queue.failed_since:
                queue.strikes += 1  # its webapp took other reports since this one first failed
            queue.last_error = reason
            poison = queue.strikes >= self.max_tries
            if not poison:
                queue.backoff = next_delay(queue.backoff, self.min_backoff, self.max_backoff)
                queue.next_try = now + queue.backoff
        if poison:
            self._park(message, f"{reason} {queue.strikes} times while other reports got through")

    def _park(self, message: Message, reason: str) -> None:
        """Set a message that the webapp will not take aside (on disk, for a human), and go on."""
        if not self._is_head(message):
            return  # its stream was forgotten (deleted) meanwhile
        log.error("outbox: parked a report for stream %s (%s): %s", message.stream_id, message.url, reason)
        if self.journal_dir is not None:
            parked = self.journal_dir / "parked"
            name = (message.file.stem if message.file else f"m{time.time_ns()}") + f"-s{message.stream_id}.json"
            try:
                parked.mkdir(parents=True, exist_ok=True)
                write_atomically(
                    parked / name,
                    json.dumps(
                        {
                            "stream_id": message.stream_id,
                            "url": message.url,
                            "payload": message.payload,
                            "reason": reason,
                        }
                    ),
                )
            except OSError as exc:
                log.error("outbox: cannot keep the parked report on disk: %s", exc)
        with self._wake:
            self._parked.setdefault(message.stream_id, []).append(reason)
        self._finish(message)

    def _finish(self, message: Message) -> None:
        """The head message is done with: next one of its stream, at once."""
        with self._wake:
            if not self._is_head(message):
                return  # forgotten meanwhile (forget() already ran its on_done)
            queue = self._streams[message.stream_id]
            queue.messages.popleft()
            queue.next_try, queue.backoff, queue.failed_since, queue.strikes = 0.0, 0.0, None, 0
            queue.last_error = None
            if not queue.messages:
                del self._streams[message.stream_id]
            _unlink(message)
        _done(message)

    def _is_head(self, message: Message) -> bool:
        with self._wake:
            queue = self._streams.get(message.stream_id)
            return bool(queue and queue.messages and queue.messages[0] is message)

    def _gone(self, stream_id: int) -> None:
        self.forget(stream_id)
        log.info("stream %s is gone from the webapp; dropped its pending reports", stream_id)
        if self.on_gone:
            self.on_gone(stream_id)


def _is_gone(response: requests.Response) -> bool:
    """True only for the webapp API's own answer for a deleted stream (docs/contract.md)."""
    if "json" not in response.headers.get("Content-Type", ""):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") == GONE_ERROR


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
