"""`python manage.py export_training_data [--out DATA.csv]`: feedback -> the metamodel's training CSV."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from webapp.feedback.training import export_training_data

DEFAULT_OUT = settings.REPO_DIR / "var" / "training" / "feedback.csv"


class Command(BaseCommand):
    help = "Write the training CSV from stored segment features and viewers' votes and missed moments."

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")

    def handle(self, *args, out: Path, **options):
        try:
            counts = export_training_data(out)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"wrote {out}: {counts['rows']} segments of {counts['streams']} streams, "
            f"{counts['positives']} labelled highlight"
        )
