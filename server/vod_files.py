"""A past broadcast's chat file on the server: validated before it is kept, deleted when its
analysis ends, the stream is deleted or the server restarts (a VOD job does not resume).

Only the file lives here (DATA_DIR/vod/<stream_id>/); what the analysis keeps of it are
per-segment counts and scores, which is what the webapp stores (Twitch's terms: no messages).
"""

from __future__ import annotations

import gzip
import secrets
import shutil
import zlib
from pathlib import Path
from typing import BinaryIO

from server.chat.logs import ChatLog, ChatLogError, read_chat_file

COPY_CHUNK = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"


class ChatFileError(ValueError):
    """The upload is not a chat file we can read, or too big; the words are for the user."""


def vod_folder(data_dir: Path, stream_id: int) -> Path:
    return data_dir / "vod" / str(stream_id)


def chat_file(data_dir: Path, stream_id: int) -> Path | None:
    """The stream's stored chat file, or None."""
    found = sorted(vod_folder(data_dir, stream_id).glob("chat.*"))
    return found[0] if found else None


def store_chat(data_dir: Path, stream_id: int, body: BinaryIO, limit: int) -> ChatLog:
    """Copy `body` (at most `limit` bytes) to the stream's folder, parse it (server.chat.logs) and
    keep it as its chat file only if it parses; otherwise nothing is left and ChatFileError says why."""
    folder = vod_folder(data_dir, stream_id)
    folder.mkdir(parents=True, exist_ok=True)
    upload = folder / f"upload-{secrets.token_hex(8)}"
    try:
        size, head = _copy(body, upload, limit)
        if size == 0:
            raise ChatFileError("the chat file is empty")
        named = upload.with_suffix(chat_suffix(head))
        upload.rename(named)
        upload = named
        log = read_uploaded_chat(named)
        for old in folder.glob("chat.*"):
            old.unlink()
        named.rename(folder / f"chat{named.suffix}")
        return log
    except BaseException:
        upload.unlink(missing_ok=True)
        _remove_if_empty(folder)
        raise


def chat_suffix(head: bytes) -> str:
    """The suffix read_chat_file needs (it tells gzip by the name) for a file starting with `head`."""
    return ".gz" if head.startswith(GZIP_MAGIC) else ".txt"


def read_uploaded_chat(path: Path) -> ChatLog:
    """Parse an uploaded chat file; ChatFileError's words say what is wrong, never where it is kept."""
    try:
        log = read_chat_file(path)
    except ChatLogError as exc:  # its words start with our path: keep only what it says of the file
        raise ChatFileError(f"not a chat file we can read: {str(exc).replace(f'{path}: ', '')}") from None
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ChatFileError(f"not a chat file we can read: a broken gzip file ({exc})") from None
    if not log.messages and not log.events:
        raise ChatFileError("not a chat file we can read: it holds no chat messages")
    return log


def _copy(body: BinaryIO, target: Path, limit: int) -> tuple[int, bytes]:
    size, head = 0, b""
    with open(target, "wb") as out:
        while chunk := body.read(COPY_CHUNK):
            size += len(chunk)
            if size > limit:
                raise ChatFileError(f"the chat file is larger than {limit} bytes")
            head = head or chunk[:2]
            out.write(chunk)
    return size, head


def remove(data_dir: Path, stream_id: int) -> None:
    """Delete what a stream uploaded (its analysis ended, or it was deleted)."""
    folder = vod_folder(data_dir, stream_id)
    shutil.rmtree(folder, ignore_errors=True)
    _remove_if_empty(folder.parent)


def remove_all(data_dir: Path) -> None:
    """At start-up: no VOD job survives a restart, so no upload is still wanted."""
    shutil.rmtree(data_dir / "vod", ignore_errors=True)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
