"""`python manage.py retrain_metamodel [--out MODEL.json]`: export feedback, train, write the model.

The model goes to METAMODEL_PATH (the file the processing server watches and reloads) unless
--out says otherwise. The run is recorded like one started from the staff page, so the page
lists it too, and it waits for no other: a run already going is refused.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from webapp.feedback.models import TrainingRun
from webapp.feedback.training import RetrainRefused, run_training, start_run


class Command(BaseCommand):
    help = "Retrain the metamodel from viewers' feedback and write it where the server reloads it."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=None, help="model file (default: METAMODEL_PATH)")

    def handle(self, *args, out: Path | None, **options):
        out = out or settings.METAMODEL_PATH
        if out is None:
            raise CommandError("set METAMODEL_PATH (the server's model file) or pass --out")
        try:
            run = run_training(start_run(Path(out)))
        except RetrainRefused as exc:
            raise CommandError(str(exc)) from exc
        if run.state != TrainingRun.DONE:
            raise CommandError(run.error)
        self.stdout.write(run.report)
        self.stdout.write(f"wrote {out} (about {run.per_hour:g} highlights per hour by default); the server reloads it within seconds")
