"""The download button: a highlight's clip, streamed through the webapp as an attachment.

Clips live in the processing server's storage, on another origin, where browsers ignore
`<a download>` and just open the video. Streaming the file through here gives every browser a
real download with a readable file name ("xqcow-0-01-00.mp4"), without the webapp keeping a copy.

The URL comes from the processing server's report, so it is fetched only if it lies in the clip
storage (CLIP_STORAGE_URLS: MEDIA_BASE_URL or the bucket) and redirects are not followed:
otherwise anyone holding the ingest token could read the webapp's internal network through it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import requests
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from server.storage import is_storage_url
from webapp.streams.models import Highlight
from webapp.streams.templatetags.streams_extras import hms

log = logging.getLogger(__name__)

TIMEOUT = (3.05, 30)  # seconds: connect, between two reads
CHUNK = 256 * 1024  # bytes per chunk passed on to the browser


class ClipUnavailable(Exception):
    """Raised by `open_clip` when storage does not hand out the clip."""


def open_clip(url: str) -> requests.Response:
    """Start reading the clip at `url` in the clip storage; the caller closes the response."""
    if not is_storage_url(url, settings.CLIP_STORAGE_URLS):
        raise ClipUnavailable("its address is not in the clip storage")
    try:
        # No redirects: the storage answers clips itself; a redirect could lead anywhere.
        response = requests.get(url, stream=True, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise ClipUnavailable(f"storage is not reachable ({type(exc).__name__})") from exc
    if response.status_code != 200:
        response.close()
        raise ClipUnavailable(f"storage answered HTTP {response.status_code}")
    return response


def clip_filename(highlight: Highlight) -> str:
    """A file name that says whose stream and where in it: "xqcow-1-02-03.mp4"."""
    stream = slugify(highlight.stream.name)[:60] or "stream"
    return f"{stream}-{hms(highlight.start_offset_s).replace(':', '-')}.mp4"


def _chunks(upstream: requests.Response) -> Iterator[bytes]:
    try:
        yield from upstream.iter_content(CHUNK)
    finally:
        upstream.close()


@login_required
@require_GET
def download_clip(request: HttpRequest, stream_id: int, highlight_id: int) -> HttpResponse:
    highlight = get_object_or_404(
        Highlight.objects.select_related("stream"),
        pk=highlight_id,
        stream_id=stream_id,
        stream__owner=request.user,
    )
    return attachment(highlight.clip_url, clip_filename(highlight), "clip")


def attachment(url: str, filename: str, what: str = "clip") -> HttpResponse:
    """The mp4 at `url` in the clip storage, streamed to the browser as a download named
    `filename`; a 502 in words when storage does not hand it out."""
    try:
        upstream = open_clip(url)
    except ClipUnavailable as exc:
        log.warning("%s %s not downloadable: %s", what, url, exc)
        return HttpResponse(
            f"The {what} could not be fetched: {exc}. Try again in a moment.",
            status=502,
            content_type="text/plain; charset=utf-8",
        )
    response = StreamingHttpResponse(_chunks(upstream), content_type="video/mp4")
    if upstream.headers.get("Content-Length", "").isdigit():
        response["Content-Length"] = upstream.headers["Content-Length"]
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
