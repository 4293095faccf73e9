"""Register a stream's job with the processing server, and retry while it cannot be reached."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.utils import timezone

from webapp.lib import processing
from webapp.streams import vod_uploads
from webapp.streams.models import Stream

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(seconds=10)


def start_job(stream: Stream) -> bool:
    """Try once to create the job for `stream`; return False if the server was not reachable.

    Only a stream still WAITING is changed: the server may already have reported a newer state
    through the ingest API while this call was in flight.
    """
    now = timezone.now()
    Stream.objects.filter(pk=stream.pk).update(job_attempt_at=now)
    stream.job_attempt_at = now
    try:
        # A VOD's uploads go first: the job reads them when it starts.
        if stream.recording_upload:
            processing.upload_recording(stream.pk, vod_uploads.path_of(stream.recording_upload))
        if stream.chat_upload:
            processing.upload_chat(stream.pk, vod_uploads.path_of(stream.chat_upload))
        job = processing.create_job(
            stream.pk, stream.server_source, stream.chat_channel, stream.chosen_budget(), kind=stream.kind
        )
    except processing.ProcessingServerError as exc:
        log.warning("job for stream %s not started: %s (HTTP %s)", stream.pk, exc, exc.status)
        if exc.rejected:
            stream.state, stream.last_error = Stream.ERROR, f"The processing server refused this stream: {exc}"
        else:
            stream.state, stream.last_error = Stream.WAITING, f"Could not start yet: {exc}. Retrying."
        if exc.rejected:
            _drop_uploads(stream)
        _save_if_waiting(stream)
        return exc.rejected
    log.info("job for stream %s started: %s", stream.pk, job.get("state"))
    _drop_uploads(stream)  # the server has them now, and deletes them when its analysis ends
    stream.apply_job(job)
    _save_if_waiting(stream)
    return True


def _drop_uploads(stream: Stream) -> None:
    if stream.chat_upload or stream.recording_upload:
        vod_uploads.delete_upload(stream.chat_upload)
        vod_uploads.delete_upload(stream.recording_upload)
        Stream.objects.filter(pk=stream.pk).update(chat_upload="", recording_upload="")
        stream.chat_upload = stream.recording_upload = ""


def _save_if_waiting(stream: Stream) -> None:
    fields = {
        "state": stream.state,
        "last_error": stream.last_error,
        "degraded": stream.degraded,
        "segments_done": stream.segments_done,
        "updated": timezone.now(),
    }
    if not Stream.objects.filter(pk=stream.pk, state=Stream.WAITING).update(**fields):
        stream.refresh_from_db()


def is_due(stream: Stream) -> bool:
    """True when `stream` waits for the server and the last attempt is old enough to retry."""
    if stream.state != Stream.WAITING:
        return False
    return stream.job_attempt_at is None or timezone.now() - stream.job_attempt_at >= RETRY_AFTER


def retry_waiting(streams: Iterable[Stream], force: bool = False) -> dict[str, int]:
    """Retry the due (or, with `force`, all) waiting streams; stop at the first unreachable.

    When the server is down every call would wait for it in turn, so one failure is enough.
    """
    counts = {"started": 0, "rejected": 0, "waiting": 0}
    pending = [s for s in streams if s.state == Stream.WAITING and (force or is_due(s))]
    for i, stream in enumerate(pending):
        if not start_job(stream):
            counts["waiting"] += len(pending) - i
            break
        counts["rejected" if stream.state == Stream.ERROR else "started"] += 1
    return counts
