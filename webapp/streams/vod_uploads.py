"""A past broadcast's uploads in the webapp (its chat file, a recording): checked on upload with
the server's own checks (server.vod_files: the chat reader, ffprobe), kept under VOD_UPLOAD_DIR
with a random name only until the processing server has them, deleted then or with the stream. The webapp never stores the messages themselves: what it
keeps of the chat are the per-segment counts and scores the server reports (Twitch's terms).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from server.vod_files import UploadError, chat_suffix, check_recording, read_uploaded_chat


class ChatUploadError(ValueError):
    """The file is too big or not what the analysis can read; the words are for the user."""


def path_of(name: str) -> Path:
    return Path(settings.VOD_UPLOAD_DIR) / name


def keep_chat_upload(upload: UploadedFile) -> str:
    """Check and store `upload`; return its stored name, or raise ChatUploadError leaving nothing."""
    limit = settings.VOD_MAX_CHAT_BYTES
    if upload.size is not None and upload.size > limit:
        raise ChatUploadError(f"The chat file is {upload.size:,} bytes; the most allowed is {limit:,}.")
    head = upload.read(2)
    upload.seek(0)
    return _keep(upload, f"chat-{secrets.token_urlsafe(16)}{chat_suffix(head)}", read_uploaded_chat)


def keep_recording_upload(upload: UploadedFile) -> str:
    """Check (ffprobe: a video or audio stream) and store a recording; ChatUploadError leaves nothing."""
    limit = settings.VOD_MAX_RECORDING_BYTES
    if upload.size is not None and upload.size > limit:
        raise ChatUploadError(f"The recording is {upload.size:,} bytes; the most allowed is {limit:,}.")
    return _keep(upload, f"recording-{secrets.token_urlsafe(16)}", check_recording)


def _keep(upload: UploadedFile, name: str, check: Callable[[Path], object]) -> str:
    """Write `upload` as `name` (random: not the user's name for it), run `check` on it; keep it
    only if that passes."""
    folder = Path(settings.VOD_UPLOAD_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    try:
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        check(path)
    except UploadError as exc:
        path.unlink(missing_ok=True)
        raise ChatUploadError(f"{str(exc)[0].upper()}{str(exc)[1:]}.") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path.name


def delete_upload(name: str) -> None:
    if name:
        path_of(name).unlink(missing_ok=True)
