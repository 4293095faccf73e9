"""Where the processing server reports a stream's state, scored segments and highlights."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from webapp.api import schemas
from webapp.api.decorators import authorize, error
from webapp.lib.jsonschema import Schema, ValidationError, parse_utc, validate
from webapp.streams.models import Highlight, Segment, Stream


def _find_and_validate(request: HttpRequest, stream_id: int, schema: Schema) -> Stream | JsonResponse:
    stream = Stream.objects.filter(pk=stream_id).first()
    if stream is None:
        # The user deleted it: the server drops what it was sending for this stream.
        return error("no such stream", 404)
    try:
        validate(request.json, schema)
    except ValidationError as exc:
        return error(str(exc))
    return stream


@authorize
def status(request: HttpRequest, stream_id: int) -> HttpResponse:
    stream = _find_and_validate(request, stream_id, schemas.status)
    if isinstance(stream, JsonResponse):
        return stream
    doc: dict[str, Any] = request.json
    fields: dict[str, Any] = {"state": doc["state"], "updated": timezone.now()}
    fields["last_error"] = doc.get("last_error") or ""
    fields["degraded"] = doc.get("degraded", [])
    if "segments_done" in doc:
        fields["segments_done"] = doc["segments_done"]
    for name in ("duration_s", "progress", "eta_s"):  # a VOD's progress; absent from a live job's
        if name in doc:
            fields[name] = doc[name]
    Stream.objects.filter(pk=stream.pk).update(**fields)
    return JsonResponse({"ok": True})


@authorize
def segments(request: HttpRequest, stream_id: int) -> HttpResponse:
    stream = _find_and_validate(request, stream_id, schemas.segments)
    if isinstance(stream, JsonResponse):
        return stream
    doc: dict[str, Any] = request.json
    with transaction.atomic():
        for seg in doc["segments"]:
            # Idempotent on (stream, seq): a resent segment replaces the stored copy.
            Segment.objects.update_or_create(
                stream=stream,
                seq=seg["seq"],
                defaults={
                    "start_utc": parse_utc(seg["start_utc"]),
                    "end_utc": parse_utc(seg["end_utc"]),
                    "offset_s": seg["offset_s"],
                    "duration_s": seg["duration_s"],
                    "score": seg["score"],
                    "features": seg.get("features", {}),
                },
            )
        if "threshold" in doc:  # the bar; the contract keeps its first name
            Stream.objects.filter(pk=stream.pk).update(bar=doc["threshold"])
    return JsonResponse({"stored": len(doc["segments"])})


@authorize
def highlights(request: HttpRequest, stream_id: int) -> HttpResponse:
    stream = _find_and_validate(request, stream_id, schemas.highlight)
    if isinstance(stream, JsonResponse):
        return stream
    doc: dict[str, Any] = request.json
    if doc["end_offset_s"] < doc["start_offset_s"]:
        return error("end_offset_s: must not be before start_offset_s")
    # Idempotent on key: a resent highlight keeps the first copy and answers 200.
    highlight, created = Highlight.objects.get_or_create(
        stream=stream,
        key=doc["key"],
        defaults={
            "start_utc": parse_utc(doc["start_utc"]),
            "end_utc": parse_utc(doc["end_utc"]),
            "start_offset_s": doc["start_offset_s"],
            "end_offset_s": doc["end_offset_s"],
            "score": doc["score"],
            "clip_url": doc["clip_url"],
            "thumbnail_url": doc.get("thumbnail_url") or "",
            "reasons": doc["reasons"],
        },
    )
    return JsonResponse({"id": highlight.id, "created": created}, status=201 if created else 200)
