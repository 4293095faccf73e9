"""The analysed rendition decoded once, as it arrives, by the ffmpeg that cuts it into segments.

Decoding each 10 s segment with an ffmpeg of its own cost 0.21 CPU-s at 160p30, half of it
starting a process and probing and demuxing the file again (docs/benchmarks.md). Here the cutting
ffmpeg also writes the scorer's inputs (`media.decoded_outputs`: grey frames at MOTION_FPS and
mono samples at AUDIO_RATE, both on the clock from time 0) to two pipes, and a segment's share is
cut by the start and end times ffmpeg lists for it: frame i is the moment i / MOTION_FPS.

The pipes are read without blocking by the ingest loop that already polls the segment listing, so
a stream costs no extra thread; they are enlarged so that ffmpeg never waits for that poll.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass

import numpy as np

from server import media

PIPE_BYTES = 1 << 20  # ~5 s of samples: far more than the ingest loop's 0.25 s between reads
READ_BYTES = 1 << 20

Decoded = tuple[np.ndarray | None, np.ndarray | None]  # (samples, frames), as media.decode_segment


class _Track:
    """One decoded stream arriving on a pipe: fixed-size units (a frame, a sample) at `rate` per second."""

    def __init__(self, unit_bytes: int, rate: int):
        self.unit_bytes, self.rate = unit_bytes, rate
        self.read_fd, self.write_fd = os.pipe()
        try:
            fcntl.fcntl(self.write_fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except OSError:  # above /proc/sys/fs/pipe-max-size: the default 64 KiB still works, polled often
            pass
        os.set_blocking(self.read_fd, False)
        self._data = bytearray()
        self._first = 0  # index of the unit at _data[0]
        self.ended = False

    @property
    def target(self) -> str:
        return f"pipe:{self.write_fd}"  # ffmpeg writes to an inherited descriptor by its number

    def read(self) -> None:
        """Take in what ffmpeg has written since the last call (never waits)."""
        while not self.ended:
            try:
                chunk = os.read(self.read_fd, READ_BYTES)
            except BlockingIOError:
                return
            if not chunk:
                self.ended = True
            self._data += chunk

    def _index(self, seconds: float) -> int:
        return round(seconds * self.rate)

    def holds(self, end_s: float) -> bool:
        return self.ended or self._first + len(self._data) // self.unit_bytes >= self._index(end_s)

    def take(self, start_s: float, end_s: float) -> bytes:
        """The units of [start_s, end_s), forgetting everything before end_s (segments come in order)."""
        lo, hi = (max(self._index(t) - self._first, 0) * self.unit_bytes for t in (start_s, end_s))
        part = bytes(self._data[lo:hi])
        self.skip_to(end_s)
        return part

    def skip_to(self, end_s: float) -> None:
        drop = min(max(self._index(end_s) - self._first, 0) * self.unit_bytes, len(self._data))
        drop -= drop % self.unit_bytes
        del self._data[:drop]
        self._first += drop // self.unit_bytes

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass


@dataclass
class LiveDecoder:
    """The decode outputs of one cutting ffmpeg: give `output_args()` and `child_fds()` to the
    ffmpeg, call `started()` once it runs, then `poll()` and `take()` as segments close."""

    has_audio: bool
    has_video: bool

    def __post_init__(self) -> None:
        width, height = media.MOTION_SIZE
        self.frames = _Track(width * height, media.MOTION_FPS) if self.has_video else None
        self.samples = _Track(4, media.AUDIO_RATE) if self.has_audio else None  # float32

    @classmethod
    def for_kinds(cls, kinds: set[str]) -> LiveDecoder | None:
        """A decoder for the streams a source holds (media.stream_kinds); None if it holds neither."""
        if not kinds & {"audio", "video"}:
            return None
        return cls(has_audio="audio" in kinds, has_video="video" in kinds)

    def _tracks(self) -> list[_Track]:
        return [t for t in (self.frames, self.samples) if t is not None]

    def output_args(self) -> list[str]:
        return media.decoded_outputs(
            self.frames.target if self.frames else None, self.samples.target if self.samples else None
        )

    def child_fds(self) -> tuple[int, ...]:
        return tuple(t.write_fd for t in self._tracks())

    def started(self) -> None:
        """ffmpeg holds the write ends now: close ours, so its exit reads as the end of the pipes."""
        for track in self._tracks():
            os.close(track.write_fd)
            track.write_fd = -1

    def poll(self) -> None:
        for track in self._tracks():
            track.read()

    def holds(self, end_s: float) -> bool:
        """True once everything up to `end_s` (seconds on ffmpeg's output clock) has been read
        from the pipes (as of the last `poll`)."""
        return all(track.holds(end_s) for track in self._tracks())

    def take(self, start_s: float, end_s: float) -> Decoded:
        """(samples, frames) of [start_s, end_s); a stream the source lacks is None."""
        samples = media.samples_from(self.samples.take(start_s, end_s)) if self.samples else None
        frames = media.frames_from(self.frames.take(start_s, end_s)) if self.frames else None
        return samples, frames

    def skip_to(self, end_s: float) -> None:
        """Forget what was decoded before `end_s` (a segment that is scored from its file instead)."""
        for track in self._tracks():
            track.skip_to(end_s)

    def close(self) -> None:
        for track in self._tracks():
            track.close()
