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
from typing import IO

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


class UploadOffsetError(UploadError):
    """A part of an upload does not follow the bytes received so far (409: resend from there)."""


def vod_folder(data_dir: Path, stream_id: int) -> Path:
    return data_dir / "vod" / str(stream_id)


def chat_file(data_dir: Path, stream_id: int) -> Path | None:
    """The stream's stored chat file, or None."""
    found = sorted(vod_folder(data_dir, stream_id).glob("chat.*"))
    return found[0] if found else None


def store_chat(data_dir: Path, stream_id: int, upload: Path) -> ChatLog:
    """Parse an uploaded file (server.chat.logs) and keep it as the stream's chat file only if it
    parses; otherwise nothing is left and ChatFileError says why."""
    folder = vod_folder(data_dir, stream_id)
    try:
        with open(upload, "rb") as fh:
            head = fh.read(2)
        if not head:
            raise ChatFileError("the chat file is empty")
        named = upload.with_name(f"upload-{secrets.token_hex(8)}{chat_suffix(head)}")  # the reader goes by suffix
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


def store_recording(data_dir: Path, stream_id: int, upload: Path) -> float:
    """Check an uploaded file is a recording (ffprobe: a video or audio stream) and keep it
    remuxed to MPEG-TS; return its duration (s). Refused: nothing is left, RecordingError says why."""
    folder = vod_folder(data_dir, stream_id)
    kept = folder / f"recording-{secrets.token_hex(8)}.ts"
    try:
        if upload.stat().st_size == 0:
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


def append_part(data_dir: Path, stream_id: int, what: str, body: IO[bytes], offset: int, limit: int) -> Path:
    """Append one part of an upload (`what`: "chat" or "recording") at byte `offset`; return the
    file so far. Uploads come in parts so that no request body is big (waitress reads a whole body
    before the token is checked): a part at the wrong offset is UploadOffsetError (nothing
    changes), a total over `limit` deletes what came and is an UploadError."""
    folder = vod_folder(data_dir, stream_id)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"partial-{what}"
    received = partial.stat().st_size if partial.exists() else 0
    if offset != received and offset != 0:
        raise UploadOffsetError(f"this part starts at byte {offset}, but {received} bytes have come so far")
    noun = "the chat file" if what == "chat" else "the recording"
    try:
        with open(partial, "r+b" if offset else "wb") as out:  # offset 0: a new upload replaces an unfinished one
            out.seek(offset)
            size = offset
            while chunk := body.read(COPY_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise (ChatFileError if what == "chat" else RecordingError)(f"{noun} is larger than {limit} bytes")
                out.write(chunk)
    except BaseException:
        partial.unlink(missing_ok=True)
        _remove_if_empty(folder)
        raise
    return partial


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
