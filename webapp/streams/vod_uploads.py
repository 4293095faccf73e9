"""A past broadcast's chat file in the webapp: checked on upload with the server's own reader
(server.vod_files), kept under VOD_UPLOAD_DIR with a random name only until the processing server
has it, deleted then or with the stream. The webapp never stores the messages themselves: what it
keeps of the chat are the per-segment counts and scores the server reports (Twitch's terms).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from server.vod_files import ChatFileError, chat_suffix, read_uploaded_chat


class ChatUploadError(ValueError):
    """The file is too big or not a chat file the analysis can read; the words are for the user."""


def path_of(name: str) -> Path:
    return Path(settings.VOD_UPLOAD_DIR) / name


def keep_chat_upload(upload: UploadedFile) -> str:
    """Check and store `upload`; return its stored name, or raise ChatUploadError leaving nothing."""
    limit = settings.VOD_MAX_CHAT_BYTES
    if upload.size is not None and upload.size > limit:
        raise ChatUploadError(f"The chat file is {upload.size:,} bytes; the most allowed is {limit:,}.")
    folder = Path(settings.VOD_UPLOAD_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    head = upload.read(2)
    upload.seek(0)
    path = folder / f"chat-{secrets.token_urlsafe(16)}{chat_suffix(head)}"  # not the user's name for it
    try:
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        read_uploaded_chat(path)
    except ChatFileError as exc:
        path.unlink(missing_ok=True)
        raise ChatUploadError(f"{str(exc)[0].upper()}{str(exc)[1:]}.") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path.name


def delete_chat_upload(name: str) -> None:
    if name:
        path_of(name).unlink(missing_ok=True)
