"""A user's tracked stream, the scored segments and the highlights the server reports for it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

UPLOADED = "upload"  # docs/contract.md: a VOD job reads the recording uploaded for it
UPLOAD_PREFIX = "Uploaded recording: "  # how an uploaded recording's stream is named


class Stream(models.Model):
    WAITING = "waiting"
    STARTING = "starting"
    LIVE = "live"
    OFFLINE = "offline"
    ERROR = "error"
    STOPPED = "stopped"
    FINISHED = "finished"  # a past broadcast analysed to its end
    STATES = [
        (WAITING, "Waiting for server"),
        (STARTING, "Starting"),
        (LIVE, "Live"),
        (OFFLINE, "Offline"),
        (ERROR, "Error"),
        (STOPPED, "Stopped"),
        (FINISHED, "Finished"),
    ]
    # The states the server may report (all but WAITING, which only the webapp sets).
    SERVER_STATES = [STARTING, LIVE, OFFLINE, ERROR, STOPPED, FINISHED]
    KIND_LIVE, KIND_VOD = "live", "vod"
    KINDS = [(KIND_LIVE, "Live stream"), (KIND_VOD, "VOD (past broadcast)")]

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="streams")
    source = models.CharField(max_length=500, help_text="Twitch login or stream URL, as sent to the server")
    chat_channel = models.CharField(max_length=25, null=True, blank=True)
    state = models.CharField(max_length=10, choices=STATES, default=WAITING)
    last_error = models.TextField(blank=True, default="")
    degraded = models.JSONField(default=list, blank=True)
    segments_done = models.PositiveIntegerField(default=0)
    # The score the server's selector held the latest segment to (the timeline's dashed line);
    # None while it warms up. The ingest contract still calls it "threshold".
    bar = models.FloatField(null=True, blank=True, default=None)
    kind = models.CharField(max_length=4, choices=KINDS, default=KIND_LIVE)
    # A VOD's progress as the server reports it: seconds of the recording, share done, time left.
    duration_s = models.FloatField(null=True, blank=True, default=None)
    progress = models.FloatField(null=True, blank=True, default=None)
    eta_s = models.FloatField(null=True, blank=True, default=None)
    # A VOD's chat file, kept (random name, under VOD_UPLOAD_DIR) only until the server has it.
    chat_upload = models.CharField(max_length=100, blank=True, default="")
    recording_upload = models.CharField(max_length=100, blank=True, default="")  # the same, for a recording
    # When the webapp last tried to register the job with the server (for the retry delay).
    job_attempt_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "source"], name="unique_source_per_owner"),
        ]

    def __str__(self) -> str:
        return self.source

    @property
    def name(self) -> str:
        """What the user sees: the channel login or the URL."""
        return self.source

    @property
    def is_vod(self) -> bool:
        return self.kind == self.KIND_VOD

    @property
    def server_source(self) -> str:
        """The source as the server takes it: "upload" for a recording uploaded with the stream."""
        return UPLOADED if self.is_vod and self.source.startswith(UPLOAD_PREFIX) else self.source

    def state_label(self) -> str:
        """The state in words: a VOD being read is "Processing", not "Live"."""
        if self.is_vod and self.state == self.LIVE:
            return "Processing"
        return self.get_state_display()

    def chosen_budget(self) -> float | None:
        """The owner's highlight budget for this stream (highlights per hour), or None (the model's).

        Read through the reverse relation of the feedback app's `HighlightBudget` rather than by
        importing it: feedback depends on streams, never the other way round. A fresh query, not
        the instance's cached relation, so a slider change made since this object was loaded counts.
        """
        return Stream.objects.filter(pk=self.pk).values_list("highlight_budget__per_hour", flat=True).first()

    def apply_job(self, job: dict[str, Any]) -> None:
        """Copy the state of a job as the server reports it (POST/GET /api/v1/jobs)."""
        state = job.get("state")
        self.state = state if state in self.SERVER_STATES else self.STARTING
        self.last_error = job.get("last_error") or ""
        degraded = job.get("degraded")
        self.degraded = [str(d) for d in degraded] if isinstance(degraded, list) else []
        if isinstance(job.get("segments_done"), int) and job["segments_done"] >= 0:
            self.segments_done = job["segments_done"]
        for name in ("duration_s", "progress", "eta_s"):  # a VOD's progress
            if isinstance(job.get(name), (int, float)) and not isinstance(job[name], bool) and job[name] >= 0:
                setattr(self, name, float(job[name]))


class Segment(models.Model):
    stream = models.ForeignKey(Stream, models.CASCADE, related_name="segments")
    seq = models.PositiveIntegerField()
    start_utc = models.DateTimeField()
    end_utc = models.DateTimeField()
    offset_s = models.FloatField()
    duration_s = models.FloatField()
    score = models.FloatField()
    features = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "seq"], name="unique_segment_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.stream} #{self.seq}"


class Highlight(models.Model):
    stream = models.ForeignKey(Stream, models.CASCADE, related_name="highlights")
    key = models.CharField(max_length=100)
    start_utc = models.DateTimeField()
    end_utc = models.DateTimeField()
    start_offset_s = models.FloatField()
    end_offset_s = models.FloatField()
    score = models.FloatField()
    clip_url = models.URLField(max_length=1000)
    thumbnail_url = models.URLField(max_length=1000, blank=True, default="")
    reasons = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_offset_s", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["stream", "key"], name="unique_highlight_key"),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_offset_s - self.start_offset_s)

    def to_dict(self) -> dict[str, Any]:
        """The highlight as the status JSON lists it."""
        return {
            "id": self.id,
            "key": self.key,
            "clip_url": self.clip_url,
            "thumbnail_url": self.thumbnail_url or None,
            "score": self.score,
            "start_offset_s": self.start_offset_s,
            "end_offset_s": self.end_offset_s,
            "duration_s": self.duration_s,
            "start_utc": self.start_utc.isoformat(),
            "end_utc": self.end_utc.isoformat(),
            "reasons": self.reasons,
        }


class ClipRender(models.Model):
    """A vertical or square version of a highlight, trimmed, rendered by the processing server in
    the background (server/renders.py). Deleted with its highlight, so with the stream."""

    QUEUED, RENDERING, READY, ERROR = "queued", "rendering", "ready", "error"
    STATES = [(QUEUED, "Queued"), (RENDERING, "Rendering"), (READY, "Ready"), (ERROR, "Failed")]
    LAYOUTS = [("vertical", "Vertical 9:16"), ("square", "Square 1:1"), ("landscape", "Landscape, trimmed")]

    highlight = models.ForeignKey(Highlight, models.CASCADE, related_name="renders")
    layout = models.CharField(max_length=20, choices=LAYOUTS)
    start_s = models.FloatField()
    end_s = models.FloatField()
    server_id = models.CharField(max_length=64, help_text="the render's id on the processing server")
    state = models.CharField(max_length=20, choices=STATES, default=QUEUED)
    progress = models.FloatField(default=0.0)
    url = models.URLField(max_length=1000, blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    @property
    def finished(self) -> bool:
        return self.state in (self.READY, self.ERROR)
