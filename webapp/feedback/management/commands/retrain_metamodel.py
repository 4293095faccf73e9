"""`python manage.py retrain_metamodel [--out MODEL.json]`: export feedback, train, write the model.

The model goes to METAMODEL_PATH (the file the processing server watches and reloads) unless
--out says otherwise.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from metamodel import MetamodelError
from metamodel.dataset import DatasetError
from webapp.feedback.training import export_training_data, retrain


class Command(BaseCommand):
    help = "Retrain the metamodel from viewers' feedback and write it where the server reloads it."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=None, help="model file (default: METAMODEL_PATH)")

    def handle(self, *args, out: Path | None, **options):
        out = out or settings.METAMODEL_PATH
        if out is None:
            raise CommandError("set METAMODEL_PATH (the server's model file) or pass --out")
        try:
            with tempfile.TemporaryDirectory() as tmp:
                data = Path(tmp) / "feedback.csv"
                export_training_data(data)
                report, threshold = retrain(data, Path(out))
        except (ValueError, DatasetError, MetamodelError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report)
        self.stdout.write(f"wrote {out} (threshold {threshold:.3f}); the server reloads it within seconds")
