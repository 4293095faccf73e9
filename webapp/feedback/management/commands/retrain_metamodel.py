"""`python manage.py retrain_metamodel [--out MODEL.json] [--per-hour N]`: export feedback, train, write the model.

The model goes to METAMODEL_PATH (the file the processing server watches and reloads) unless
--out says otherwise. The run is recorded like one started from the staff page, so the page
lists it too, and it waits for no other: a run already going is refused. The new model keeps the
serving model's highlight budget unless --per-hour says otherwise.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from metamodel.selection import validate_per_hour
from webapp.feedback.models import TrainingRun
from webapp.feedback.training import RetrainRefused, run_training, start_run


class Command(BaseCommand):
    help = "Retrain the metamodel from viewers' feedback and write it where the server reloads it."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=None, help="model file (default: METAMODEL_PATH)")
        parser.add_argument(
            "--per-hour",
            type=float,
            default=None,
            help="highlight budget to train at and ship (default: the serving model's)",
        )

    def handle(self, *args, out: Path | None, per_hour: float | None, **options):
        out = out or settings.METAMODEL_PATH
        if out is None:
            raise CommandError("set METAMODEL_PATH (the server's model file) or pass --out")
        if per_hour is not None:
            try:
                validate_per_hour(per_hour)
            except ValueError as exc:
                raise CommandError(f"--per-hour: {exc}") from exc
        try:
            run = run_training(start_run(Path(out)), per_hour)
        except RetrainRefused as exc:
            raise CommandError(str(exc)) from exc
        if run.state != TrainingRun.DONE:
            raise CommandError(run.error)
        self.stdout.write(run.report)
        self.stdout.write(f"wrote {out} ({run.per_hour:g} highlights per hour); the server reloads it within seconds")
