"""A daemon thread that sleeps on a condition until it is given work or told to stop.

The outbox (reporter.py) and the upload spool (spool.py) are both one such loop: producers add
work under `_wake` and notify it; `stop()` wakes the loop, which returns when it sees `_stopping`.
"""

from __future__ import annotations

import threading


class BackgroundLoop:
    stop_timeout = 5.0  # seconds stop() waits for the loop to finish what it is doing

    def __init__(self, name: str) -> None:
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join(self.stop_timeout if timeout is None else timeout)

    def _run(self) -> None:
        raise NotImplementedError
