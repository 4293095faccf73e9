"""Trim a highlight and export it vertical (9:16) or square: start the render, poll it, download it.

The processing server renders in the background (server/renders.py); the stream page polls
`render.json`, which asks the server how far the render is until it is ready or failed, then
answers from the database alone. Every view is scoped to the signed-in user's streams.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from server.storage import is_storage_url
from webapp.lib import processing
from webapp.streams.clips import attachment, clip_filename
from webapp.streams.models import ClipRender, Highlight

log = logging.getLogger(__name__)

LAYOUTS = dict(ClipRender.LAYOUTS)
MIN_LENGTH_S = 1.0  # a shorter trim is a mistake, not a clip


class TrimError(ValueError):
    """What is wrong with a trim request, in words for the page."""


def parse_trim(data: Any, clip_length: float) -> tuple[str, float, float]:
    """(layout, start, end) from the export form, checked against the clip's length."""
    layout = data.get("layout", "")
    if layout not in LAYOUTS:
        raise TrimError("Choose vertical, square or landscape.")
    try:
        start, end = float(data.get("start_s", "")), float(data.get("end_s", ""))
    except ValueError:
        raise TrimError("Start and end must be numbers of seconds.") from None
    if not (math.isfinite(start) and math.isfinite(end)):
        raise TrimError("Start and end must be numbers of seconds.")
    if start < 0 or end > clip_length + 0.5:
        raise TrimError(f"Start and end must lie within the clip (0 to {clip_length:.1f} s).")
    if end - start < MIN_LENGTH_S:
        raise TrimError(f"The end must be at least {MIN_LENGTH_S:.0f} s after the start.")
    return layout, round(start, 2), round(min(end, clip_length), 2)


def render_json(render: ClipRender) -> dict[str, Any]:
    stream_id = render.highlight.stream_id
    return {
        "id": render.id,
        "highlight_id": render.highlight_id,
        "layout": render.layout,
        "layout_label": LAYOUTS.get(render.layout, render.layout),
        "start_s": render.start_s,
        "end_s": render.end_s,
        "state": render.state,
        "state_label": render.get_state_display(),
        "progress": render.progress,
        "url": render.url or None,
        "error": render.error or None,
        "status_url": reverse("render-status", args=[stream_id, render.id]),
        "download_url": reverse("render-download", args=[stream_id, render.id]) if render.url else None,
    }


def _user_highlight(request: HttpRequest, stream_id: int, highlight_id: int) -> Highlight:
    return get_object_or_404(
        Highlight.objects.select_related("stream"), pk=highlight_id, stream_id=stream_id, stream__owner=request.user
    )


def _user_render(request: HttpRequest, stream_id: int, render_id: int) -> ClipRender:
    return get_object_or_404(
        ClipRender.objects.select_related("highlight__stream"),
        pk=render_id,
        highlight__stream_id=stream_id,
        highlight__stream__owner=request.user,
    )


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_POST
@login_required
def start_render(request: HttpRequest, stream_id: int, highlight_id: int) -> HttpResponse:
    highlight = _user_highlight(request, stream_id, highlight_id)
    try:
        layout, start, end = parse_trim(request.POST, highlight.duration_s)
        queued = processing.start_render(highlight.stream_id, highlight.key, highlight.clip_url, layout, start, end)
    except TrimError as exc:
        return _answer(request, stream_id, {"error": str(exc)}, 400)
    except processing.ProcessingServerError as exc:
        status = 400 if exc.rejected else 503
        return _answer(request, stream_id, {"error": f"The export could not be started: {exc.message}"}, status)
    render = ClipRender.objects.create(
        highlight=highlight,
        layout=layout,
        start_s=start,
        end_s=end,
        server_id=str(queued.get("id", ""))[:64],
        state=queued.get("state") if queued.get("state") in dict(ClipRender.STATES) else ClipRender.QUEUED,
    )
    return _answer(request, stream_id, {"render": render_json(render)}, 202)


def _answer(request: HttpRequest, stream_id: int, body: dict[str, Any], status: int) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(body, status=status)
    return redirect("stream", stream_id)  # a plain form post (no script): back to the page


@login_required
@require_GET
def render_status(request: HttpRequest, stream_id: int, render_id: int) -> JsonResponse:
    render = _user_render(request, stream_id, render_id)
    note = None
    if not render.finished:
        try:
            _refresh(render)
        except processing.ProcessingServerError as exc:
            note = exc.message  # shown under the progress; the next poll tries again
    response = JsonResponse({"render": render_json(render), "note": note})
    response["Cache-Control"] = "no-store"
    return response


def _refresh(render: ClipRender) -> None:
    now = processing.get_render(render.server_id)
    if now is None:
        render.state, render.error = (
            ClipRender.ERROR,
            "The processing server restarted and lost this export: start it again.",
        )
    else:
        state = now.get("state")
        render.state = state if state in dict(ClipRender.STATES) else render.state
        render.progress = float(now.get("progress") or 0.0)
        url = str(now.get("url") or "")[:1000]
        render.error = str(now.get("error") or "")[:500]
        # The page plays it and the download fetches it: only from the clip storage.
        if url and not is_storage_url(url, settings.CLIP_STORAGE_URLS):
            render.state, render.error, url = ClipRender.ERROR, "The export was stored outside the clip storage.", ""
        render.url = url
    render.save(update_fields=["state", "progress", "url", "error"])


@login_required
@require_GET
def download_render(request: HttpRequest, stream_id: int, render_id: int) -> HttpResponse:
    render = _user_render(request, stream_id, render_id)
    if not render.url:
        return HttpResponse("This export is not ready.", status=404, content_type="text/plain; charset=utf-8")
    name = clip_filename(render.highlight).removesuffix(".mp4") + f"-{render.layout}.mp4"
    return attachment(render.url, name, "export")
