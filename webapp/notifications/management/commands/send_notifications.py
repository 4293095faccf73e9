"""`manage.py send_notifications [--loop]`: send the due highlight notifications.

The webapp's background thread does this already (a step of webapp/streams/sync.py's loop);
this command is for a deployment that turns that thread off (JOB_SYNC_INTERVAL_S = 0), or to
flush the queue by hand. Safe to run beside the webapp: rows are claimed, never sent twice at once.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections

from webapp.notifications.worker import Counts, Worker


class Command(BaseCommand):
    help = "Send the highlight notifications (Discord webhook, e-mail) that are due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop",
            action="store_true",
            help="keep sending every JOB_SYNC_INTERVAL_S (2 s; 2 s when it is 0) until Ctrl-C",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker = Worker()
        if not options["loop"]:
            self._say(worker.run_once())
            return
        interval = settings.JOB_SYNC_INTERVAL_S or 2.0
        try:
            while True:
                counts = worker.run_once()
                if counts.total():
                    self._say(counts)
                close_old_connections()
                time.sleep(interval)
        except KeyboardInterrupt:
            pass

    def _say(self, counts: Counts) -> None:
        self.stdout.write(
            f"{counts.sent} sent, {counts.retrying} to retry later, {counts.failed} given up, "
            f"{counts.cancelled} cancelled.",
        )
        self.stdout.flush()
