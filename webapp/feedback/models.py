"""What a user says about a stream's highlights: thumbs up/down, missed moments, highlight budget.

`export_training_data` turns votes and missed moments into training labels for the metamodel.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from metamodel.selection import MAX_PER_HOUR, MIN_PER_HOUR
from webapp.streams.models import Highlight, Stream


class Vote(models.Model):
    UP, DOWN = 1, -1
    VALUES = [(UP, "Thumbs up"), (DOWN, "Thumbs down")]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="highlight_votes")
    highlight = models.ForeignKey(Highlight, models.CASCADE, related_name="votes")
    value = models.SmallIntegerField(choices=VALUES)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "highlight"], name="one_vote_per_user_and_highlight")]

    def __str__(self) -> str:
        return f"{self.user} {'+' if self.value == self.UP else '-'} {self.highlight}"

    @property
    def label(self) -> str:
        return "up" if self.value == self.UP else "down"


class MissedMoment(models.Model):
    """'This was a highlight' at a moment the model did not pick (seconds from the stream's start)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="missed_moments")
    stream = models.ForeignKey(Stream, models.CASCADE, related_name="missed_moments")
    offset_s = models.FloatField(validators=[MinValueValidator(0.0)])
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["offset_s"]
        constraints = [models.UniqueConstraint(fields=["user", "stream", "offset_s"], name="one_mark_per_moment")]

    def __str__(self) -> str:
        return f"{self.stream} @ {self.offset_s:.0f} s"


class HighlightBudget(models.Model):
    """How many highlights per hour the stream's owner wants; the server's selector publishes the
    stream's best moments at that rate (metamodel/selection.py). No row: the model's budget."""

    stream = models.OneToOneField(Stream, models.CASCADE, primary_key=True, related_name="highlight_budget")
    per_hour = models.FloatField(validators=[MinValueValidator(MIN_PER_HOUR), MaxValueValidator(MAX_PER_HOUR)])
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.stream}: {self.per_hour:g} per hour"


def budget_for(stream: Stream) -> float | None:
    """The owner's highlight budget for a stream (highlights per hour), or None (the model's)."""
    return stream.chosen_budget()


class TrainingRun(models.Model):
    """One retraining of the metamodel from feedback, started from the staff page or the command line.

    The web page starts it on a background thread and shows its state; a run still "running"
    long after it began is one whose process ended (the webapp restarted) and is shown as failed.
    """

    RUNNING, DONE, FAILED = "running", "done", "failed"
    STATES = [(RUNNING, "Running"), (DONE, "Done"), (FAILED, "Failed")]

    state = models.CharField(max_length=10, choices=STATES, default=RUNNING)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="training_runs"
    )
    started = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)
    model_path = models.CharField(max_length=500)
    rows = models.PositiveIntegerField(null=True, blank=True)
    per_hour = models.FloatField(null=True, blank=True)  # the budget the new model was measured at and ships with
    report = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started", "-pk"]

    def __str__(self) -> str:
        return f"training run {self.pk} ({self.state})"
