"""The server's JSON API for the webapp (contract v1, docs/contract.md). Routes stay thin."""

from __future__ import annotations

import hmac
from functools import wraps
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from jsonbody import JSONBodyError, parse_json_body
from server import vod_files
from server.renders import RenderRequestError, parse_render_request
from server.storage import public_url_prefix
from server.validation import MAX_STREAM_ID, UPLOADED, ValidationError, validate_budget, validate_job

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def error(message: str, status: int):
    return jsonify({"error": message}), status


@bp.app_errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge):
    return error(f"request body larger than {request.max_content_length} bytes", 413)  # this route's limit


def json_body() -> Any:
    """The request's JSON document (MAX_CONTENT_LENGTH bytes, jsonbody.MAX_DEPTH levels at most).

    Raises JSONBodyError, or RequestEntityTooLarge for a body over the limit (a 413 answer).
    """
    return parse_json_body(request.get_data(cache=True))


def authorize(view):
    """Check the bearer token (constant time) before the view runs."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            return error("missing bearer token", 401)
        if not hmac.compare_digest(token.encode(), current_app.config["SERVER_API_TOKEN"].encode()):
            return error("wrong token", 403)
        return view(*args, **kwargs)

    return wrapped


@bp.post("/jobs")
@authorize
def create_job():
    try:
        data = json_body()
    except JSONBodyError as exc:
        return error(str(exc), 400)
    config = current_app.config
    try:
        job_request = validate_job(
            data, config["ALLOWED_SOURCE_HOSTS"], config["ALLOWED_CALLBACK_HOSTS"], config["TWITCH_URL_TEMPLATE"]
        )
    except ValidationError as exc:
        return error(str(exc), 400)
    if job_request.kind == "vod" and config["EXECUTOR"] != "threads":
        return error("past broadcasts are analysed by a single-machine server only (EXECUTOR = threads)", 400)
    if job_request.stream_url == UPLOADED and not vod_files.recording_file(
        Path(config["DATA_DIR"]), job_request.stream_id
    ):
        return error("no recording uploaded for this stream (PUT /api/v1/jobs/<id>/recording first)", 400)
    try:
        job, created = current_app.extensions["jobs"].start(job_request)
    except OverflowError as exc:
        return error(str(exc), 503)
    current_app.extensions["janitor"].cancel(job_request.stream_id)  # tracked again: keep its clips
    return jsonify(job.to_dict()), 201 if created else 200


@bp.put("/jobs/<int:stream_id>/<any(chat, recording):what>")
@authorize
def upload_vod_file(stream_id: int, what: str):
    """A past broadcast's chat file or recording, before POST /jobs with "kind": "vod": the raw
    body is one part (at most VOD_UPLOAD_CHUNK_BYTES) at `?offset=N`; the part with `?last=1` (the
    default) ends it, and the whole is checked then: refused in words, leaving nothing, unless the
    chat file parses / ffprobe finds video or audio in the recording (docs/contract.md)."""
    config = current_app.config
    if not 0 < stream_id <= MAX_STREAM_ID:
        return error(f"stream_id must be a positive integer up to {MAX_STREAM_ID}", 400)
    offset, last = request.args.get("offset", "0"), request.args.get("last", "1")
    if not offset.isdigit() or last not in ("0", "1"):
        return error("offset must be a number of bytes and last 0 or 1", 400)
    request.max_content_length = config["VOD_UPLOAD_CHUNK_BYTES"]  # this route's own limit
    data_dir = Path(config["DATA_DIR"])
    limit = config["VOD_MAX_CHAT_BYTES" if what == "chat" else "VOD_MAX_RECORDING_BYTES"]
    if limit <= 0:
        return error(f"{what} uploads are off on this server (VOD_MAX_{what.upper()}_BYTES = 0)", 403)
    try:
        upload = vod_files.append_part(data_dir, stream_id, what, request.stream, int(offset), limit)
        if last == "0":
            return jsonify({"stream_id": stream_id, "received": upload.stat().st_size}), 202
        if what == "chat":
            log = vod_files.store_chat(data_dir, stream_id, upload)
            return jsonify({"stream_id": stream_id, "format": log.format, "messages": len(log.messages)}), 201
        duration = vod_files.store_recording(data_dir, stream_id, upload)
        return jsonify({"stream_id": stream_id, "duration_s": round(duration, 3)}), 201
    except vod_files.UploadOffsetError as exc:
        return error(str(exc), 409)
    except vod_files.UploadError as exc:
        return error(str(exc), 413 if "larger than" in str(exc) else 400)


@bp.get("/jobs")
@authorize
def list_jobs():
    return jsonify({"jobs": [job.to_dict() for job in current_app.extensions["jobs"].all()]})


@bp.get("/jobs/<int:stream_id>")
@authorize
def get_job(stream_id: int):
    job = current_app.extensions["jobs"].get(stream_id)
    if job is None:
        return error("no such job", 404)
    return jsonify(job.to_dict())


@bp.patch("/jobs/<int:stream_id>")
@authorize
def update_job(stream_id: int):
    """Change a running job's settings; today only its highlight budget (the user's sensitivity)."""
    try:
        data = json_body()
    except JSONBodyError as exc:
        return error(str(exc), 400)
    if not isinstance(data, dict) or set(data) != {"highlights_per_hour"}:
        return error('body must be {"highlights_per_hour": <number from 0.5 to 60, or null>}', 400)
    try:
        per_hour = validate_budget(data["highlights_per_hour"])
    except ValidationError as exc:
        return error(str(exc), 400)
    job = current_app.extensions["jobs"].get(stream_id)
    if job is None:
        return error("no such job", 404)
    job.set_per_hour(per_hour)
    return jsonify(job.to_dict())


@bp.get("/model")
@authorize
def model_status():
    """Which metamodel is in use, and whether a newer file was refused."""
    store = current_app.extensions["model"]
    store.check_now()
    return jsonify(store.status())


@bp.delete("/jobs/<int:stream_id>")
@authorize
def delete_job(stream_id: int):
    current_app.extensions["jobs"].stop(stream_id)  # its threads, ffmpeg and ring buffer are gone
    vod_files.remove(Path(current_app.config["DATA_DIR"]), stream_id)  # a VOD's chat file, if it never started
    current_app.extensions["stream_deleted"](stream_id)  # its clips go after STORAGE_DELETE_GRACE_S
    return "", 204


@bp.post("/renders")
@authorize
def create_render():
    """Queue a vertical or square render of a stored clip, trimmed (server/renders.py)."""
    try:
        fields = parse_render_request(json_body(), [public_url_prefix(current_app.config)])
    except (JSONBodyError, RenderRequestError) as exc:
        return error(str(exc), 400)
    return jsonify(current_app.extensions["renders"].submit(fields).to_dict()), 202


@bp.get("/renders/<render_id>")
@authorize
def get_render(render_id: str):
    render = current_app.extensions["renders"].get(render_id)
    if render is None:
        return error("no such render", 404)
    return jsonify(render.to_dict())
