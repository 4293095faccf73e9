"""A past broadcast's uploads on the server (DATA_DIR/vod/<stream_id>/): its chat file and an
uploaded recording, each validated before it is kept, deleted when its analysis ends, the stream
is deleted or the server restarts (a VOD job does not resume).

What the analysis keeps of the chat are per-segment counts and scores, which is what the webapp
stores (Twitch's terms: no messages). A recording is kept as MPEG-TS (a stream copy), which is
what the live ingest cuts: the VOD job reads it as it would read streamlink.
"""

from __future__ import annotations

import gzip
import secrets
import shutil
import zlib
from pathlib import Path
from typing import BinaryIO

from server import media
from server.chat.logs import ChatLog, ChatLogError, read_chat_file

COPY_CHUNK = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"


class UploadError(ValueError):
    """An upload is refused (too big, not what it should be); the words are for the user."""


class ChatFileError(UploadError):
    """The upload is not a chat file we can read, or too big."""


class RecordingError(UploadError):
    """The upload is not a recording we can analyse, or too big."""


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


def recording_file(data_dir: Path, stream_id: int) -> Path | None:
    """The stream's uploaded recording (MPEG-TS), or None."""
    path = vod_folder(data_dir, stream_id) / "recording.ts"
    return path if path.is_file() else None


def store_recording(data_dir: Path, stream_id: int, body: BinaryIO, limit: int) -> float:
    """Copy `body` (at most `limit` bytes), check it is a recording (ffprobe: a video or audio
    stream) and keep it remuxed to MPEG-TS; return its duration (s). Refused: nothing is left."""
    folder = vod_folder(data_dir, stream_id)
    folder.mkdir(parents=True, exist_ok=True)
    upload, kept = folder / f"upload-{secrets.token_hex(8)}", folder / f"recording-{secrets.token_hex(8)}.ts"
    try:
        if _copy(body, upload, limit, "the recording")[0] == 0:
            raise RecordingError("the recording is empty")
        check_recording(upload)
        try:  # stream copy: seconds for hours of video; a codec MPEG-TS cannot carry is refused
            media.run_ffmpeg(["-i", str(upload), "-map", "0:v:0?", "-map", "0:a:0?", "-c", "copy",
                              "-f", "mpegts", str(kept)], timeout=3600)  # fmt: skip
        except media.MediaError as exc:
            raise RecordingError(f"this recording cannot be cut without re-encoding it ({exc})") from None
        duration = media.duration_of(kept)
        kept.rename(folder / "recording.ts")
        return duration
    except BaseException:
        for path in (upload, kept):
            path.unlink(missing_ok=True)
        _remove_if_empty(folder)
        raise
    finally:
        upload.unlink(missing_ok=True)


def check_recording(path: Path) -> dict:
    """ffprobe's description of `path` if it holds a video or audio stream, else RecordingError
    (its words never name the path)."""
    try:
        info = media.probe(path)
    except media.MediaError:
        raise RecordingError("not a recording we can read: no video or audio in it (ffprobe)") from None
    if not any(s.get("codec_type") in ("video", "audio") for s in info.get("streams", [])):
        raise RecordingError("not a recording we can read: no video or audio stream in it")
    return info


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


def _copy(body: BinaryIO, target: Path, limit: int, what: str = "the chat file") -> tuple[int, bytes]:
    size, head = 0, b""
    error = RecordingError if what == "the recording" else ChatFileError
    with open(target, "wb") as out:
        while chunk := body.read(COPY_CHUNK):
            size += len(chunk)
            if size > limit:
                raise error(f"{what} is larger than {limit} bytes")
            head = head or chunk[:2]
            out.write(chunk)
    return size, head


def remove(data_dir: Path, stream_id: int) -> None:
    """Delete what a stream uploaded (its analysis ended, or it was deleted)."""
    folder = vod_folder(data_dir, stream_id)
    shutil.rmtree(folder, ignore_errors=True)
    _remove_if_empty(folder.parent)  # DATA_DIR/vod itself, once no stream has uploads


def remove_all(data_dir: Path) -> None:
    """At start-up: no VOD job survives a restart, so no upload is still wanted."""
    shutil.rmtree(data_dir / "vod", ignore_errors=True)


def _remove_if_empty(folder: Path) -> None:
    """Remove `folder` and then DATA_DIR/vod if nothing is left in them."""
    for empty in (folder, folder.parent) if folder.parent.name == "vod" else (folder,):
        try:
            empty.rmdir()
        except OSError:
            return
