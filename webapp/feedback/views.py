"""Feedback on a stream's highlights: votes, missed moments, sensitivity; and staff retraining.

Every view is owner-scoped (another user's stream or highlight is a 404), changes are POST with
CSRF. Views answer JSON to the page's script (`Accept: application/json`) and redirect back to
the stream page for a plain form post, so the forms work without JavaScript too.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from metamodel.dataset import parse_time
from webapp.feedback import training
from webapp.feedback.models import MissedMoment, Sensitivity, TrainingRun, Vote, threshold_for
from webapp.feedback.rates import highlights_per_hour
from webapp.lib import processing
from webapp.streams.models import Highlight, Stream

log = logging.getLogger(__name__)


def _stream(request: HttpRequest, stream_id: int) -> Stream:
    return get_object_or_404(Stream, pk=stream_id, owner=request.user)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _answer(request: HttpRequest, stream: Stream, doc: dict[str, Any], status: int = 200,
            text: str | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(doc, status=status)
    if text:
        (messages.success if status < 400 else messages.error)(request, text)
    return redirect("stream", stream.pk)


@login_required
@require_GET
def state(request: HttpRequest, stream_id: int) -> JsonResponse:
    """The user's votes and missed moments on a stream, and its threshold."""
    stream = _stream(request, stream_id)
    votes = Vote.objects.filter(user=request.user, highlight__stream=stream)
    response = JsonResponse({
        "votes": {str(v.highlight_id): v.label for v in votes},
        "missed": [{"id": m.id, "offset_s": m.offset_s} for m in stream.missed_moments.filter(user=request.user)],
        "threshold": threshold_for(stream),
        "server_threshold": stream.threshold,
    })
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def vote(request: HttpRequest, stream_id: int, highlight_id: int) -> HttpResponse:
    """Thumbs up or down; the same thumb again takes the vote back (a toggle)."""
    stream = _stream(request, stream_id)
    highlight = get_object_or_404(Highlight, pk=highlight_id, stream=stream)
    wanted = {"up": Vote.UP, "down": Vote.DOWN}.get(request.POST.get("value", ""))
    if wanted is None:
        return _answer(request, stream, {"error": "value must be up or down"}, 400, "Unknown vote.")
    existing = Vote.objects.filter(user=request.user, highlight=highlight).first()
    if existing and existing.value == wanted:
        existing.delete()
        current = None
    else:
        Vote.objects.update_or_create(user=request.user, highlight=highlight, defaults={"value": wanted})
        current = "up" if wanted == Vote.UP else "down"
    return _answer(request, stream, {"highlight": highlight.id, "vote": current})


@login_required
@require_POST
def mark_missed(request: HttpRequest, stream_id: int) -> HttpResponse:
    """'This was a highlight' at a moment of the stream (seconds or h:mm:ss from its start)."""
    stream = _stream(request, stream_id)
    try:
        offset = parse_time(request.POST.get("offset", ""))
    except ValueError as exc:
        return _answer(request, stream, {"error": str(exc)}, 400, f"Could not mark that moment: {exc}")
    last = stream.segments.order_by("-offset_s").values_list("offset_s", "duration_s").first()
    if last is None or offset > last[0] + last[1]:
        error = "that moment has not been analysed yet" if last else "nothing of this stream has been analysed yet"
        return _answer(request, stream, {"error": error}, 400, f"Could not mark that moment: {error}.")
    try:
        moment, _ = MissedMoment.objects.get_or_create(user=request.user, stream=stream, offset_s=round(offset, 1))
    except IntegrityError:  # two quick clicks on the same moment
        moment = MissedMoment.objects.get(user=request.user, stream=stream, offset_s=round(offset, 1))
    return _answer(request, stream, {"id": moment.id, "offset_s": moment.offset_s}, 201,
                   "Thanks: marked as a highlight the model missed.")


@login_required
@require_POST
def unmark_missed(request: HttpRequest, stream_id: int, moment_id: int) -> HttpResponse:
    stream = _stream(request, stream_id)
    get_object_or_404(MissedMoment, pk=moment_id, stream=stream, user=request.user).delete()
    return _answer(request, stream, {"deleted": moment_id}, text="Mark removed.")


@login_required
@require_POST
def sensitivity(request: HttpRequest, stream_id: int) -> HttpResponse:
    """Set (or with `reset`, clear) this stream's threshold and send it to the running job."""
    stream = _stream(request, stream_id)
    threshold = None
    if "reset" not in request.POST:
        try:
            threshold = float(request.POST.get("threshold", ""))
        except ValueError:
            threshold = -1.0
        if not 0.01 <= threshold <= 0.99:
            error = "threshold must be a number from 0.01 to 0.99"
            return _answer(request, stream, {"error": error}, 400, error)
        Sensitivity.objects.update_or_create(stream=stream, defaults={"threshold": threshold})
    else:
        Sensitivity.objects.filter(stream=stream).delete()
    applied, note = _send_threshold(stream, threshold)
    scores = list(stream.segments.order_by("seq").values_list("score", flat=True))
    effective = threshold if threshold is not None else stream.threshold
    doc = {"threshold": threshold, "applied": applied, "note": note,
           "highlights_per_hour": highlights_per_hour(scores, effective) if scores else None}
    return _answer(request, stream, doc, text=note)


def _send_threshold(stream: Stream, threshold: float | None) -> tuple[bool, str]:
    try:
        job = processing.set_threshold(stream.pk, threshold)
    except processing.ProcessingServerError as exc:
        log.warning("threshold for stream %s not sent: %s", stream.pk, exc)
        return False, f"Saved; the server could not be told yet ({exc}). It applies when the job restarts."
    if job is None:
        return False, "Saved; it applies when the stream's job starts."
    if isinstance(job.get("threshold"), (int, float)):
        Stream.objects.filter(pk=stream.pk).update(threshold=job["threshold"])
    return True, "Saved; new segments use it from now on."


@staff_member_required
@require_http_methods(["GET", "POST"])
def retrain(request: HttpRequest) -> HttpResponse:
    """Staff: retrain from all feedback, on a background thread, into the model the server reloads."""
    if request.method == "POST":
        try:
            run = training.start_run(settings.METAMODEL_PATH, request.user)
        except training.RetrainRefused as exc:
            messages.error(request, f"Not retrained: {exc}")
        else:
            training.run_in_background(run)
            messages.success(request, "Retraining started; this page shows the result when it is done.")
        return redirect("feedback-retrain")
    runs = list(TrainingRun.objects.select_related("started_by")[:5])
    return render(request, "feedback/retrain.html", {
        "model_path": settings.METAMODEL_PATH, "streams": len(training.labelled_streams()),
        "votes": Vote.objects.count(), "missed": MissedMoment.objects.count(), "runs": runs,
        "running": any(run.state == TrainingRun.RUNNING for run in runs)})
