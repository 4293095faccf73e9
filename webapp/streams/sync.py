"""Start the streams that wait for the processing server, in the background, never in a page.

`bash run.sh` (waitress serving webapp.wsgi) and `manage.py runserver` start one `JobSync` thread
per webapp process when the WSGI application loads (webapp/wsgi.py); tests and other management
commands do not load it, so they run no thread. `manage.py sync_jobs [--loop]` does the same work
from the command line. Other apps add steps to the same thread (`add_background_step`): the
notifications app sends the due highlight notifications on every round. Calls go through the processing client's short timeouts and circuit
breaker (webapp/lib/processing.py), so a hung server costs this thread, not a user's page.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections

from webapp.streams import jobs
from webapp.streams.models import Stream

log = logging.getLogger(__name__)

# More work for the same thread, registered by other apps at start-up (AppConfig.ready), so that
# this app never imports them: e.g. the notifications app's delivery of due messages.
_steps: dict[str, Callable[[], object]] = {}


def add_background_step(name: str, step: Callable[[], object]) -> None:
    """Run `step()` on every round of the background thread, after the job sync (once per name)."""
    _steps[name] = step


def sync_once(force: bool = False) -> dict[str, int]:
    """Retry the waiting streams that are due (all of them with `force`), oldest attempt first."""
    waiting = Stream.objects.filter(state=Stream.WAITING).order_by("job_attempt_at", "id")
    return jobs.retry_waiting(waiting, force=force)


class JobSync:
    """A daemon thread running `sync_once` every `interval` seconds until `stop()`."""

    def __init__(self, interval: float):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                counts = sync_once()
                if counts["started"] or counts["rejected"]:
                    log.info("job sync: %(started)d started, %(rejected)d refused, %(waiting)d still waiting", counts)
            except Exception:  # the database was busy, ...: try again next time, never die
                log.exception("job sync failed")
            for name, step in list(_steps.items()):
                try:
                    step()
                except Exception:  # one step's failure never stops the others or the thread
                    log.exception("background step %s failed", name)
            close_old_connections()  # this thread's own connection, like a request's end


_running: JobSync | None = None
_running_lock = threading.Lock()


def start_background_sync() -> JobSync | None:
    """Start this process's sync thread once (JOB_SYNC_INTERVAL_S; 0 turns it off)."""
    global _running
    interval = settings.JOB_SYNC_INTERVAL_S
    with _running_lock:
        if _running is None and interval > 0:
            _running = JobSync(interval)
            _running.start()
        return _running
