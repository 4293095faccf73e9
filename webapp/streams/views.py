"""The signed-in user's pages: dashboard (list + add), stream page, its status JSON, delete."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webapp.lib import processing
from webapp.streams import jobs
from webapp.streams.forms import AddStreamForm, AddVodForm
from webapp.streams.models import Stream
from webapp.streams.renders import render_json
from webapp.streams.vod_uploads import delete_upload

log = logging.getLogger(__name__)

STATE_HELP = {
    Stream.WAITING: "The processing server could not be reached yet. The stream is saved and "
    "will be started automatically as soon as the server answers.",
    Stream.STARTING: "The processing server is opening the stream.",
    Stream.LIVE: "The stream is live and being analysed; new highlights appear below.",
    # A channel that does not exist looks the same as one that is off the air: the video
    # playlist is missing either way, so the help says both and the server's words follow.
    Stream.OFFLINE: "The channel is not live right now, or there is no channel of that name. Its "
    "highlights start by themselves when it goes live.",
    Stream.ERROR: "The processing server reported an error.",
    Stream.STOPPED: "Tracking has stopped.",
    Stream.FINISHED: "The past broadcast has been analysed to its end.",
}
# A past broadcast is read once, faster than real time: its states read differently.
VOD_STATE_HELP = {
    **STATE_HELP,
    Stream.STARTING: "The processing server is opening the recording.",
    Stream.LIVE: "The recording is being analysed, faster than real time; highlights appear below as they are found.",
    Stream.OFFLINE: "The recording could not be read to its end.",
}


def state_help(stream: Stream) -> str:
    return (VOD_STATE_HELP if stream.is_vod else STATE_HELP)[stream.state]


# A live job sends a segment every ~10 s (plus the chat lag and scoring): this long without one
# means the server is down, stuck, or restarted and lost the job, and "Live" may be stale.
QUIET_AFTER = timedelta(seconds=90)


def quiet_note(stream: Stream, now: datetime | None = None) -> str | None:
    """Words for a live stream (or a VOD being read) the server has sent no segment for in a
    while, else None."""
    if stream.state != Stream.LIVE:
        return None
    last = stream.segments.aggregate(last=Max("end_utc"))["last"] or stream.updated
    quiet = (now or timezone.now()) - last
    if quiet < QUIET_AFTER:
        return None
    minutes = max(1, int(quiet.total_seconds() // 60))
    if stream.is_vod:  # a restarted server does not resume a VOD (server/vod.py)
        return (
            f"No progress from the processing server for {minutes} minute{'s' if minutes != 1 else ''}: "
            "it may be down, or it restarted and lost this past broadcast; delete it and add it again."
        )
    return (
        f"No new segment from the processing server for {minutes} minute{'s' if minutes != 1 else ''}: "
        "it may be down or may have lost this stream, so the state shown may be out of date."
    )


def _user_streams(request: HttpRequest) -> QuerySet[Stream]:
    return Stream.objects.filter(owner=request.user)


@login_required
@require_http_methods(["GET", "POST"])
def dashboard(request: HttpRequest) -> HttpResponse:
    form, vod_form = AddStreamForm(request.user), AddVodForm(request.user)
    if request.method == "POST" and request.POST.get("kind") == Stream.KIND_VOD:
        vod_form = AddVodForm(request.user, request.POST, request.FILES)
        if vod_form.is_valid() and (stream := _create_vod(request, vod_form)):
            jobs.start_job(stream)
            _say_how_it_went(request, stream)
            return redirect("stream", stream.id)
    elif request.method == "POST":
        form = AddStreamForm(request.user, request.POST)
        if form.is_valid() and (stream := _create_stream(request, form)):
            jobs.start_job(stream)
            _say_how_it_went(request, stream)
            return redirect("dashboard")
    # No call to the processing server on a GET: waiting streams are retried in the background
    # (webapp/streams/sync.py), so a hung server never holds a page.

    ctx = {
        "form": form,
        "vod_form": vod_form,
        "streams": _with_counts(_user_streams(request)),
        "state_help": STATE_HELP,
    }
    return render(request, "streams/dashboard.html", ctx)


def _with_counts(streams: QuerySet[Stream]) -> QuerySet[Stream]:
    return streams.annotate(highlight_count=Count("highlights"), last_highlight=Max("highlights__created"))


@login_required
@require_GET
def streams_status(request: HttpRequest) -> JsonResponse:
    """What the dashboard's script polls: each stream's state, highlight count and last one."""
    streams = [
        {
            "id": s.id,
            "name": s.name,
            "state": s.state,
            "state_label": s.state_label(),
            "state_help": state_help(s),
            "kind": s.kind,
            "last_error": s.last_error or None,
            "quiet_note": quiet_note(s),
            "highlight_count": s.highlight_count,
            "last_highlight": s.last_highlight.isoformat() if s.last_highlight else None,
        }
        for s in _with_counts(_user_streams(request))
    ]
    response = JsonResponse({"streams": streams})
    response["Cache-Control"] = "no-store"
    return response


def _create_stream(request: HttpRequest, form: AddStreamForm) -> Stream | None:
    source = form.cleaned_data["source"]
    try:
        return Stream.objects.create(
            owner=request.user, source=source.value, chat_channel=form.cleaned_data["chat_channel"]
        )
    except IntegrityError:
        # Two quick submissions of the same source: the unique constraint caught the second.
        form.add_error("source", f"You are already tracking {source.value}.")
        return None


def _create_vod(request: HttpRequest, form: AddVodForm) -> Stream | None:
    data = form.cleaned_data
    source, chat, recording = data["vod_source"], data["chat_upload"], data["recording_upload"]
    try:
        return Stream.objects.create(
            owner=request.user,
            source=source,
            kind=Stream.KIND_VOD,
            chat_channel=None,
            chat_upload=chat,
            recording_upload=recording,
        )
    except IntegrityError:
        delete_upload(chat)  # nothing left behind
        delete_upload(recording)
        form.add_error("vod_source", f"You already added {source}.")
        return None


def _say_how_it_went(request: HttpRequest, stream: Stream) -> None:
    if stream.state == Stream.WAITING:
        messages.warning(
            request,
            f"Saved {stream.name}, but the processing server is not reachable right now. "
            "It will be started automatically when the server is back.",
        )
    elif stream.state == Stream.ERROR:
        messages.error(request, f"Saved {stream.name}, but it could not be started: {stream.last_error}")
    elif stream.is_vod:
        messages.success(request, f"Analysing the past broadcast {stream.name}.")
    else:
        messages.success(request, f"Now tracking {stream.name}.")


@login_required
@require_GET
def stream_detail(request: HttpRequest, stream_id: int) -> HttpResponse:
    stream = get_object_or_404(_user_streams(request), pk=stream_id)
    highlights = list(stream.highlights.all())
    ctx = {"stream": stream, "highlights": highlights, "state_help": state_help(stream)}
    return render(request, "streams/stream.html", ctx)


@login_required
@require_GET
def stream_status(request: HttpRequest, stream_id: int) -> JsonResponse:
    stream = get_object_or_404(_user_streams(request), pk=stream_id)
    # The page asks only for segments after the last one it has: a 12-hour stream has 4,320.
    after = request.GET.get("after_seq", "")
    response = JsonResponse(status_json(stream, int(after) if after.isdigit() else None))
    response["Cache-Control"] = "no-store"
    return response


def status_json(stream: Stream, after_seq: int | None = None) -> dict[str, Any]:
    """What the stream page's script polls: the job state, highlights and segment scores."""
    highlights = [
        {
            **h.to_dict(),
            "download_url": reverse("highlight-download", args=[stream.id, h.id]),
            "render_url": reverse("render-start", args=[stream.id, h.id]),
            "renders": [render_json(r) for r in h.renders.all()],  # vertical/square exports (renders.py)
        }
        for h in stream.highlights.prefetch_related("renders__highlight")
    ]
    wanted = stream.segments.all() if after_seq is None else stream.segments.filter(seq__gt=after_seq)
    segments = wanted.values_list("seq", "offset_s", "duration_s", "score", "end_utc")
    return {
        "id": stream.id,
        "name": stream.name,
        "state": stream.state,
        "state_label": stream.state_label(),
        "state_help": state_help(stream),
        "kind": stream.kind,
        "progress": stream.progress,  # a VOD's: share done (0 to 1), seconds left; None for a live stream
        "eta_s": stream.eta_s,
        "last_error": stream.last_error or None,
        "degraded": stream.degraded,
        "segments_done": stream.segments_done,
        "quiet_note": quiet_note(stream),
        "bar": stream.bar,
        "highlights": highlights,
        "segments": [
            {"seq": seq, "offset_s": off, "duration_s": duration, "score": score, "end_utc": end.isoformat()}
            for seq, off, duration, score, end in segments
        ],
    }


@require_POST
@login_required
def delete_stream(request: HttpRequest, stream_id: int) -> HttpResponse:
    stream = get_object_or_404(_user_streams(request), pk=stream_id)
    try:
        processing.delete_job(stream.id)
    except processing.ProcessingServerError as exc:
        # Delete anyway: the server gets 404 on its next report for this stream and stops.
        log.warning("could not stop job %s on the processing server: %s", stream.id, exc)
    name = stream.name
    delete_upload(stream.chat_upload)  # a VOD's uploads the server never got
    delete_upload(stream.recording_upload)
    stream.delete()
    messages.success(request, f"Stopped tracking and deleted {name}.")
    return redirect("dashboard")
