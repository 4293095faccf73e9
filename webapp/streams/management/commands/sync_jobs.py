"""`manage.py sync_jobs [--loop]`: start the streams waiting for the processing server.

The webapp's own process does this in the background already (webapp/streams/sync.py); this
command is for a deployment that turns that thread off (JOB_SYNC_INTERVAL_S = 0).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from webapp.streams.sync import JobSync, sync_once


class Command(BaseCommand):
    help = "Retry registering every stream still waiting for the processing server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop",
            action="store_true",
            help="keep retrying the due ones every JOB_SYNC_INTERVAL_S (2 s) until Ctrl-C",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["loop"]:
            sync = JobSync(settings.JOB_SYNC_INTERVAL_S or 2.0)
            sync.start()
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                sync.stop()
            return
        counts = sync_once(force=True)
        self.stdout.write(
            f"{counts['started']} started, {counts['rejected']} refused by the server, "
            f"{counts['waiting']} still waiting."
        )
