"""Feedback on a stream's highlights: votes, missed moments, highlight budget; and staff retraining.

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
from metamodel.selection import validate_per_hour
from webapp.feedback import training
from webapp.feedback.budget import describe, estimate, model_budget
from webapp.feedback.models import HighlightBudget, MissedMoment, TrainingRun, Vote, budget_for
from webapp.lib import processing
from webapp.streams.models import Highlight, Stream

log = logging.getLogger(__name__)


def _stream(request: HttpRequest, stream_id: int) -> Stream:
    return get_object_or_404(Stream, pk=stream_id, owner=request.user)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _answer(
    request: HttpRequest, stream: Stream, doc: dict[str, Any], status: int = 200, text: str | None = None
) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(doc, status=status)
    if text:
        (messages.success if status < 400 else messages.error)(request, text)
    return redirect("stream", stream.pk)


@login_required
@require_GET
def state(request: HttpRequest, stream_id: int) -> JsonResponse:
    """The user's votes and missed moments on a stream, and its highlight budget with the estimate."""
    stream = _stream(request, stream_id)
    votes = Vote.objects.filter(user=request.user, highlight__stream=stream)
    response = JsonResponse(
        {
            "votes": {str(v.highlight_id): v.label for v in votes},
            "missed": [{"id": m.id, "offset_s": m.offset_s} for m in stream.missed_moments.filter(user=request.user)],
            **_budget_doc(stream, budget_for(stream)),
        }
    )
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
    return _answer(
        request,
        stream,
        {"id": moment.id, "offset_s": moment.offset_s},
        201,
        "Thanks: marked as a highlight the model missed.",
    )


@login_required
@require_POST
def unmark_missed(request: HttpRequest, stream_id: int, moment_id: int) -> HttpResponse:
    stream = _stream(request, stream_id)
    get_object_or_404(MissedMoment, pk=moment_id, stream=stream, user=request.user).delete()
    return _answer(request, stream, {"deleted": moment_id}, text="Mark removed.")


@login_required
@require_POST
def budget(request: HttpRequest, stream_id: int) -> HttpResponse:
    """Set (or with `reset`, clear) this stream's highlight budget and send it to the running job."""
    stream = _stream(request, stream_id)
    per_hour = None
    if "reset" not in request.POST:
        try:
            per_hour = validate_per_hour(_number(request.POST.get("per_hour", "")))
        except ValueError as exc:
            return _answer(request, stream, {"error": str(exc)}, 400, f"Not saved: {exc}.")
        HighlightBudget.objects.update_or_create(stream=stream, defaults={"per_hour": per_hour})
    else:
        HighlightBudget.objects.filter(stream=stream).delete()
    applied, note = _send_budget(stream, per_hour)
    doc = {**_budget_doc(stream, per_hour), "applied": applied, "note": note}
    estimated = doc["estimate"]
    return _answer(request, stream, doc, text=f"{note} {estimated['text']}" if estimated else note)


def _number(raw: str) -> float | None:
    try:
        return float(raw)
    except ValueError:
        return None  # validate_per_hour says what is allowed


def _budget_doc(stream: Stream, chosen: float | None) -> dict[str, Any]:
    """The budget in use (the owner's, else the model's) and what it gives on the stored scores."""
    default = model_budget()
    effective = chosen if chosen is not None else default
    estimated = estimate(stream, effective)
    return {
        "per_hour": chosen,
        "default_per_hour": default,
        "effective_per_hour": effective,
        "text": describe(effective, chosen is not None),
        "estimate": estimated.to_dict() if estimated else None,
    }


def _send_budget(stream: Stream, per_hour: float | None) -> tuple[bool, str]:
    try:
        job = processing.set_budget(stream.pk, per_hour)
    except processing.ProcessingServerError as exc:
        log.warning("highlight budget for stream %s not sent: %s", stream.pk, exc)
        return False, f"Saved; the server could not be told yet ({exc}). It applies when the job restarts."
    if job is None:
        return False, "Saved; it applies when the stream's job starts."
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
    return render(
        request,
        "feedback/retrain.html",
        {
            "model_path": settings.METAMODEL_PATH,
            "streams": len(training.labelled_streams()),
            "votes": Vote.objects.count(),
            "missed": MissedMoment.objects.count(),
            "runs": runs,
            "running": any(run.state == TrainingRun.RUNNING for run in runs),
        },
    )
