from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from webapp.streams import jobs
from webapp.streams.models import Stream


class Command(BaseCommand):
    help = "Retry registering every stream still waiting for the processing server."

    def handle(self, *args: Any, **options: Any) -> None:
        waiting = Stream.objects.filter(state=Stream.WAITING).order_by("id")
        counts = jobs.retry_waiting(waiting, force=True)
        self.stdout.write(
            f"{counts['started']} started, {counts['rejected']} refused by the server, "
            f"{counts['waiting']} still waiting."
        )
