"""The upload spool: a highlight's files wait on local disk until storage has them.

A scoring thread renders the clip and thumbnail into the spool and returns at once; one uploader
thread per server stores them, checks that their URLs answer, and only then queues the highlight
report to the webapp. The spooled item is removed when the outbox has delivered that report.

    STORAGE_SPOOL_DIR/
        tmp/                    renders in progress (wiped at start)
        items/<id>/item.json    the manifest: keys, content types, the report, URLs stored so far
        items/<id>/clip.mp4 ...

Manifests are written atomically (durable.py: temp file, fsync, rename), so a crash
leaves either the old or the new one. On start the uploader picks up every item left by the
previous run. A failed upload is retried with exponential backoff, without limit in time: nothing
is lost while storage is down. Each item backs off on its own: the uploader takes the oldest item
that is due, so one item storage always refuses never holds back the others.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from backoff import next_delay
from durable import write_atomically
from server.background import BackgroundLoop
from server.reporter import Reporter
from server.storage import Storage, StorageError

log = logging.getLogger(__name__)

MANIFEST = "item.json"


@dataclass
class SpoolFile:
    name: str  # file name inside the item folder
    key: str  # storage key, "<stream_id>/<name>"
    content_type: str
    field: str  # the report field that gets this file's URL, e.g. "clip_url"
    url: str | None = None  # set once stored and checked


@dataclass
class SpoolItem:
    id: str
    stream_id: int
    report_url: str
    payload: dict
    files: list[SpoolFile]
    created: float = field(default_factory=time.time)
    attempts: int = 0
    last_error: str | None = None

    @property
    def stored(self) -> bool:
        return all(f.url for f in self.files)

    def report(self) -> dict:
        return {**self.payload, **{f.field: f.url for f in self.files}}

    @classmethod
    def from_json(cls, data: dict) -> SpoolItem:
        files = [SpoolFile(**f) for f in data.pop("files")]
        return cls(files=files, **data)


@dataclass(frozen=True)
class Upload:
    """One file a job hands to the spool."""

    path: Path
    key: str
    content_type: str
    field: str


class Spool:
    """The folder of pending items; every method is safe to call from any thread."""

    def __init__(self, root: Path, max_items: int = 1000):
        self.root = Path(root)
        self.items_dir = self.root / "items"
        self.tmp_dir = self.root / "tmp"
        self.max_items = max_items
        self.items_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.tmp_dir, ignore_errors=True)  # renders cut short by the last exit
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A scratch folder on the spool's filesystem, so adding its files is a rename."""
        folder = Path(tempfile.mkdtemp(prefix="render-", dir=self.tmp_dir))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def add(self, stream_id: int, report_url: str, payload: dict, uploads: list[Upload]) -> SpoolItem:
        item_id = f"{time.time():.6f}-{stream_id}-{uuid.uuid4().hex[:8]}"  # sorts by creation time
        folder = self.items_dir / item_id
        folder.mkdir()
        files = []
        for upload in uploads:
            name = Path(upload.key).name
            os.replace(upload.path, folder / name)
            files.append(SpoolFile(name, upload.key, upload.content_type, upload.field))
        item = SpoolItem(item_id, stream_id, report_url, payload, files)
        self.save(item)  # written last: a folder without a manifest is an unfinished add
        return item

    def save(self, item: SpoolItem) -> None:
        write_atomically(self.items_dir / item.id / MANIFEST, json.dumps(asdict(item)))

    def load(self) -> list[SpoolItem]:
        """Every complete item on disk, oldest first; unfinished or unreadable ones are removed."""
        items = []
        for folder in sorted(self.items_dir.iterdir()):
            try:
                items.append(SpoolItem.from_json(json.loads((folder / MANIFEST).read_text())))
            except (OSError, ValueError, TypeError, KeyError) as exc:
                log.warning("spool: discarding %s (%s)", folder.name, exc.__class__.__name__)
                shutil.rmtree(folder, ignore_errors=True)
        return items

    def path(self, item: SpoolItem, spool_file: SpoolFile) -> Path:
        return self.items_dir / item.id / spool_file.name

    def remove(self, item: SpoolItem) -> None:
        shutil.rmtree(self.items_dir / item.id, ignore_errors=True)


class Uploader(BackgroundLoop):
    """The thread that moves spooled items into storage, then reports them, oldest first."""

    stop_timeout = 10.0  # an upload in flight may take a while to give up

    def __init__(
        self, spool: Spool, storage: Storage, reporter: Reporter, min_backoff: float = 1.0, max_backoff: float = 300.0
    ):
        super().__init__("uploader")
        self.spool = spool
        self.storage = storage
        self.reporter = reporter
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.last_error: str | None = None
        self.uploaded = 0  # files stored and checked by this process
        self._items: dict[str, SpoolItem] = {}
        self._reported: set[str] = set()  # handed to the outbox, waiting for its delivery
        self._retry_at: dict[str, float] = {}  # item id -> monotonic time it may be tried again
        self._backoff: dict[str, float] = {}  # item id -> its current backoff

    def start(self) -> None:
        for item in self.spool.load():
            self._items[item.id] = item
        if self._items:
            log.info("spool: %d highlight(s) left by the last run, uploading them", len(self._items))
        super().start()

    @property
    def pending(self) -> int:
        return len(self._items)

    def staging(self):
        return self.spool.staging()

    def submit(self, stream_id: int, report_url: str, payload: dict, uploads: list[Upload]) -> None:
        """Spool the files (a rename) and return; the report follows once they are stored."""
        with self._wake:
            item = self.spool.add(stream_id, report_url, payload, uploads)
            self._items[item.id] = item
            self._drop_oldest_over_limit()
            self._wake.notify_all()

    def forget(self, stream_id: int) -> int:
        """Drop everything spooled for a deleted stream; return how many highlights."""
        with self._wake:
            gone = [item for item in self._items.values() if item.stream_id == stream_id]
            for item in gone:
                self._discard(item)
        return len(gone)

    def _drop_oldest_over_limit(self) -> None:
        while len(self._items) > self.spool.max_items:
            oldest = self._items[min(self._items)]
            log.error(
                "spool full (%d items): dropping highlight %s of stream %s",
                self.spool.max_items,
                oldest.payload.get("key"),
                oldest.stream_id,
            )
            self._discard(oldest)

    def _discard(self, item: SpoolItem) -> None:
        self._items.pop(item.id, None)
        self._reported.discard(item.id)
        self._retry_at.pop(item.id, None)
        self._backoff.pop(item.id, None)
        self.spool.remove(item)

    # --- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and (item := self._next()) is None:
                    self._wake.wait(self._wait_time())  # stop() and submit() interrupt the wait
                if self._stopping:
                    return
            assert item is not None  # the wait above ends on an item or on stop
            stored = self._store(item)
            with self._wake:
                if stored:
                    self._retry_at.pop(item.id, None)
                    self._backoff.pop(item.id, None)
                elif item.id in self._items:  # this item alone waits; the next due one goes now
                    backoff = next_delay(self._backoff.get(item.id), self.min_backoff, self.max_backoff)
                    self._backoff[item.id] = backoff
                    self._retry_at[item.id] = time.monotonic() + backoff

    def _waiting(self) -> list[SpoolItem]:
        return [self._items[i] for i in sorted(self._items) if i not in self._reported]

    def _next(self) -> SpoolItem | None:
        """The oldest item not yet handed to the outbox whose backoff is over."""
        now = time.monotonic()
        return next((item for item in self._waiting() if self._retry_at.get(item.id, 0.0) <= now), None)

    def _wait_time(self) -> float | None:
        times = [self._retry_at.get(item.id, 0.0) for item in self._waiting()]
        return max(min(times) - time.monotonic(), 0.01) if times else None

    def _store(self, item: SpoolItem) -> bool:
        """Upload what is missing, check the URLs, queue the report; False to retry later."""
        try:
            for spool_file in item.files:
                if spool_file.url is None:
                    spool_file.url = self._put(item, spool_file)
                    if item.id in self._items:
                        self.spool.save(item)  # a restart does not upload it again
        except StorageError as exc:
            item.attempts += 1
            item.last_error = str(exc)
            if str(exc) != self.last_error:
                log.warning("upload failed, kept in the spool for retry (%d pending): %s", self.pending, exc)
            self.last_error = str(exc)
            return False
        except FileNotFoundError as exc:  # the spooled file itself is gone: nothing left to retry
            log.error("spool: %s lost its file (%s); dropping it", item.id, exc.filename)
            with self._wake:
                self._discard(item)
            return True
        except Exception as exc:  # the uploader must never die silently
            log.exception("spool: uploading %s failed", item.id)
            self.last_error = f"upload failed: {exc.__class__.__name__}"
            return False
        with self._wake:
            if item.id not in self._items:  # the stream was deleted meanwhile
                return True
            self._reported.add(item.id)
        self.last_error = None
        self.reporter.post(item.stream_id, item.report_url, item.report(), on_done=lambda: self._delivered(item))
        return True

    def _put(self, item: SpoolItem, spool_file: SpoolFile) -> str:
        local = self.spool.path(item, spool_file)
        size = local.stat().st_size  # FileNotFoundError if the spool lost it
        url = self.storage.put(local, spool_file.key, spool_file.content_type)
        self.storage.check(spool_file.key, url, size, spool_file.content_type)
        self.uploaded += 1
        return url

    def _delivered(self, item: SpoolItem) -> None:
        with self._wake:
            self._discard(item)
