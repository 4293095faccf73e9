"""Stream jobs: one per tracked stream, each with an ingest thread, a scoring thread and chat.

ingest thread:  streamlink -> ffmpeg -> Segment queue   (retries with backoff while offline)
scoring thread: Segment -> score_window(audio, motion, chat reaction window) -> selection -> export
chat:           TwitchChatClient -> ChatBuffer          (its own thread, reconnects by itself)
Everything a job reports goes through the shared Reporter, so a webapp outage loses nothing.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backoff import Backoff
from metamodel import Metamodel
from metamodel.cascade import REFERENCE_EVERY
from metamodel.schema import CHAT_LAG_S, CHAT_WINDOW_S
from metamodel.selection import Highlight, HighlightSelector
from server.chat.buffer import ChatBuffer
from server.chat.client import TwitchChatClient
from server.chat.sentiment.service import ChatSentiment
from server.export import render_highlight
from server.features import SegmentFeaturizer
from server.features.audio_tags import AudioTagger
from server.ingest import IngestError, LiveSegmenter, Segment, StreamOffline
from server.media import MediaError
from server.reporter import Reporter
from server.scoring import reaction_window, score_window
from server.spool import Upload, Uploader
from server.storage import StorageError, clip_name
from server.validation import JobRequest

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    """What every job shares: settings, the model, the upload spool and the outbox."""

    data_dir: Path
    reporter: Reporter
    model: Callable[[], Metamodel]
    uploader: Uploader  # the upload spool: highlights are stored and reported off the scoring thread
    segment_seconds: float = 10.0
    # (lag, length) of the chat that reacts to a segment, from its start: the feature's definition
    # (metamodel/schema.py); tests shrink it with their short segments.
    reaction_window: tuple[float, float] = (CHAT_LAG_S, CHAT_WINDOW_S)
    ring_size: int = 60
    read_timeout_s: float = 30.0
    retry_min_s: float = 5.0
    retry_max_s: float = 60.0
    irc_host: str = "irc.chat.twitch.tv"
    irc_port: int = 6697
    irc_tls: bool = True
    irc_nick: str | None = None
    irc_token: str | None = None
    degraded: tuple[str, ...] = ()  # server-wide notices, e.g. "audio tagging off: no checkpoint"
    audio_tagger: AudioTagger | None = None  # PANNs audio_tag:* features; None = not configured
    chat_sentiment: ChatSentiment | None = None  # CHAT_SENTIMENT_BACKEND; None = the lexicon, in the scoring thread
    source_hosts: tuple[str, ...] = ()  # every host:port the ingest may contact (allowlist.py); () = none


class StreamJob:
    STATUS_KEYS: tuple[str, ...] = ("state", "segments_done", "last_error", "degraded")  # what a status report holds

    def __init__(self, request: JobRequest, ctx: JobContext, next_seq: int = 0, offset_s: float = 0.0):
        """`next_seq`/`offset_s`: where a job resumed after a server restart goes on (server/job_store.py)."""
        self.request = request
        self.ctx = ctx
        self.stream_id = request.stream_id
        self.folder = ctx.data_dir / "segments" / str(self.stream_id)
        self.state = "starting"
        self.last_error: str | None = None
        self.segments_done = 0
        self._cut = 0  # segments the ingest has queued for scoring (segments_done: scored)
        self.highlights = 0
        self.lag_s: float | None = None
        self._reported_degraded: list[str] = []  # what the webapp last heard, so changes are sent
        self._stop = threading.Event()
        self._segments: queue.Queue[Segment | None] = queue.Queue()  # None: the stream ended here
        self._recent: dict[int, Segment] = {}  # the ring buffer's segments, for export
        self._reasons: dict[int, list] = {}  # each recent segment's reasons, for its highlight
        self._next_seq, self._offset = next_seq, offset_s
        self.on_change: Callable[[StreamJob], None] | None = None  # resume point or budget moved (JobManager)
        self._save_error: str | None = None  # the last resume-point save failed (shown in degraded)
        self._featurizer = SegmentFeaturizer()
        if ctx.audio_tagger is not None:
            tagger = ctx.audio_tagger
            self._featurizer.audio_tags = tagger.features  # gated on this job's cheap features and the metamodel
            self._featurizer.tag_reference_every = REFERENCE_EVERY if tagger.candidates_only else 1
            # Streams that start together (a restart resumes them all) would tag their reference
            # segments in the same second, every time: spread them by stream instead.
            self._featurizer.tag_reference_phase = self.stream_id % self._featurizer.tag_reference_every
        if ctx.chat_sentiment is not None:
            self._featurizer.sentiment = ctx.chat_sentiment.classify  # on the shared model thread
            self._featurizer.sentiment_max = ctx.chat_sentiment.max_messages
        self.per_hour_override = request.per_hour  # the user's sensitivity (PATCH /api/v1/jobs/<id>)
        self._selector = HighlightSelector(self._per_hour(ctx.model()), ctx.segment_seconds)
        self.chat: TwitchChatClient | None = None
        self._chat_buffer = ChatBuffer()
        if request.chat_channel:
            self.chat = TwitchChatClient(
                request.chat_channel,
                self._chat_buffer,
                ctx.irc_host,
                ctx.irc_port,
                ctx.irc_tls,
                ctx.irc_nick,
                ctx.irc_token,
            )
        self._segmenter = LiveSegmenter(
            request.stream_url,
            self.folder,
            ctx.segment_seconds,
            ctx.ring_size,
            ctx.read_timeout_s,
            ctx.source_hosts,
        )
        self._threads = [
            threading.Thread(target=self._ingest_loop, name=f"ingest-{self.stream_id}", daemon=True),
            threading.Thread(target=self._score_loop, name=f"score-{self.stream_id}", daemon=True),
        ]

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self.chat:
            self.chat.start()
        for thread in self._threads:
            thread.start()
        self._report_status()

    def stop(self, timeout: float = 20.0) -> None:
        """Stop every thread and child process of this job and remove its ring buffer."""
        self._stop.set()
        if self.chat:
            self.chat.stop()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread.is_alive():
                thread.join(max(deadline - time.monotonic(), 0.1))
        if self.chat:
            self.chat.join(2)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.state = "stopped"

    def set_per_hour(self, per_hour: float | None) -> None:
        """Set this stream's highlight budget (None: back to the model's); applies from the next segment."""
        self.per_hour_override = per_hour
        self._selector.set_per_hour(self._per_hour(self.ctx.model()))
        self._changed()

    def _per_hour(self, model: Metamodel) -> float:
        return self.per_hour_override if self.per_hour_override is not None else model.per_hour

    @property
    def resume_point(self) -> tuple[int, float]:
        """(next seq, stream offset) a restarted job continues from: past every segment already cut."""
        return self._next_seq, self._offset

    def _changed(self) -> bool:
        """Save the resume point; False when it could not be saved (disk full)."""
        if self.on_change is not None:
            try:
                self.on_change(self)
            except Exception as exc:  # saving the resume point must never stop the job
                log.exception("stream %s: saving the job failed", self.stream_id)
                self._save_error = f"segments skipped: cannot save the job's resume point ({exc.__class__.__name__})"
                return False
        self._save_error = None
        return True

    @property
    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def to_dict(self) -> dict:
        return {
            "stream_id": self.stream_id,
            "source": self.request.source,
            "state": self.state,
            "segments_done": self.segments_done,
            "highlights": self.highlights,
            "last_error": self.last_error,
            "lag_s": None if self.lag_s is None else round(self.lag_s, 2),
            "degraded": self.degraded(),
            "highlights_per_hour": self._selector.per_hour,
            "bar": self._selector.bar,  # the score the last segment had to reach (None while warming up)
        }

    def degraded(self) -> list[str]:
        notices = list(self.ctx.degraded)
        if self.ctx.chat_sentiment is not None and self.ctx.chat_sentiment.notice:
            notices.append(self.ctx.chat_sentiment.notice)  # e.g. the transformers model is missing
        if self.chat is None:
            notices.append("chat off: no chat channel")
        elif self.chat.state == "error":
            notices.append(f"chat off: {self.chat.last_error}")
        elif self.chat.state != "joined" and self.chat.connects:
            notices.append("chat reconnecting")
        if self._save_error:
            notices.append(self._save_error)
        parked = self.ctx.reporter.parked_note(self.stream_id)  # reports the webapp would not take
        if parked:
            notices.append(parked)
        busy = self.ctx.audio_tagger.busy_notice() if self.ctx.audio_tagger is not None else None
        if busy:
            notices.append(busy)
        refused = getattr(self.ctx.model, "last_error", None)  # the ModelStore's hot reload
        if refused:
            notices.append(refused)
        return notices

    # --- ingest ------------------------------------------------------------------------------

    def _ingest_loop(self) -> None:
        segmenter = self._segmenter
        backoff = Backoff(self.ctx.retry_min_s, self.ctx.retry_max_s)
        while not self._stop.is_set():
            received, cut = self.segments_done, self._cut
            try:
                segmenter.run(self._stop, self._next_seq, self._offset, self._on_segment)
                if self._stop.is_set():
                    return
                self._set_state("offline", "stream ended")
            except StreamOffline as exc:
                self._set_state("offline", str(exc))
            except IngestError as exc:
                self._set_state("error", str(exc))
            except Exception as exc:  # a worker must never die silently
                log.exception("stream %s: ingest failed", self.stream_id)
                self._set_state("error", f"ingest failed: {exc}")
            if self._cut > cut:
                self._segments.put(None)  # after its last segment, close a highlight in progress
            if self.segments_done > received:
                backoff.reset()  # it was live: come back quickly
            delay = backoff.next()
            log.info("stream %s: %s; retrying in %.0f s", self.stream_id, self.last_error, delay)
            self._stop.wait(delay)

    def _on_segment(self, segment: Segment) -> None:
        self._next_seq, self._offset = segment.seq + 1, segment.offset_s + segment.duration
        if not self._changed():
            # Not on disk: a restart would cut this seq again and overwrite what the webapp stored
            # for it, so the segment is not used. Saved before scoring: a restart skips, never repeats, a seq.
            if self.degraded() != self._reported_degraded:
                self._report_status()
            return
        if self.state != "live":
            self._set_state("live", None)
        self._cut += 1
        self._segments.put(segment)

    # --- scoring -----------------------------------------------------------------------------

    def _score_loop(self) -> None:
        while not self._stop.is_set():
            try:
                segment = self._segments.get(timeout=0.5)
            except queue.Empty:
                continue
            if segment is None:
                self._stream_ended()
                continue
            # Viewers react after they see it: wait until the segment's reaction window has closed.
            if self._stop.wait(max(self._reactions_close_at(segment) - time.time(), 0)):
                return
            try:
                self._process(segment)
            except (MediaError, StorageError) as exc:
                log.warning("stream %s: segment %d skipped: %s", self.stream_id, segment.seq, exc)
            except Exception:
                log.exception("stream %s: segment %d failed", self.stream_id, segment.seq)

    def _process(self, segment: Segment) -> None:
        chat, events = self._reactions(segment)
        model = self.ctx.model()  # reloaded by the ModelStore when its file changes
        self._selector.set_per_hour(self._per_hour(model))
        scored = score_window(
            self._featurizer,
            model,
            segment.path,
            chat,
            events,
            bar=self._selector.bar_for(segment.seq),
            decoded=segment.decoded,
        )
        # The score as the webapp stores it: the slider's estimate replays exactly these numbers.
        score, reasons, values = round(scored.score, 6), scored.reasons, scored.values
        self._remember(segment)
        self.segments_done += 1
        self.lag_s = time.time() - segment.end_utc
        highlight = self._selector.push(segment.seq, score)
        self._post(
            "segments",
            {
                "threshold": self._selector.bar,
                "segments": [
                    {
                        "seq": segment.seq,
                        "start_utc": _iso(segment.start_utc),
                        "end_utc": _iso(segment.end_utc),
                        "offset_s": round(segment.offset_s, 3),
                        "duration_s": round(segment.duration, 3),
                        "score": score,
                        "features": values,
                        "reasons": [r.to_dict() for r in reasons],
                    }
                ],
            },
        )
        self._reasons[segment.seq] = reasons
        if self.degraded() != self._reported_degraded:
            self._report_status()  # e.g. chat dropped, or a new model file was refused
        if highlight:
            self._publish(highlight)

    def _reactions_close_at(self, segment: Segment) -> float:
        """Epoch time when the chat reacting to `segment` is all in (a VOD's chat file: at once)."""
        return reaction_window(segment.start_utc, *self.ctx.reaction_window)[1]

    def _reactions(self, segment: Segment) -> tuple[list | None, list | None]:
        """The chat messages and hype events reacting to `segment`; (None, None) without chat."""
        if not self.chat:
            return None, None
        lo, hi = reaction_window(segment.start_utc, *self.ctx.reaction_window)
        chat, events = self._chat_buffer.window(lo, hi), self._chat_buffer.events(lo, hi)
        self._chat_buffer.prune(segment.start_utc - 60)
        return chat, events

    def _stream_ended(self) -> None:
        """The stream went off the air: a moment still going on at its end is a highlight too."""
        highlight = self._selector.flush()
        if highlight is None:
            return
        try:
            self._publish(highlight)
        except (MediaError, StorageError) as exc:
            log.warning("stream %s: last highlight skipped: %s", self.stream_id, exc)

    def _remember(self, segment: Segment) -> None:
        self._recent[segment.seq] = segment.without_media()  # the ring is for export: its files suffice
        for old in [s for s in self._recent if s <= segment.seq - self.ctx.ring_size]:
            self._recent.pop(old, None)
            self._reasons.pop(old, None)

    def _publish(self, highlight: Highlight) -> None:
        kept = [seq for seq in range(highlight.first_seq, highlight.last_seq + 1) if seq in self._recent]
        if not kept:
            raise MediaError(f"no segments left for highlight {highlight.key}")
        first, last = self._recent[kept[0]], self._recent[kept[-1]]
        reasons = self._reasons.get(highlight.peak_seq, [])
        report = {
            "key": f"{self.stream_id}-{highlight.key}",
            "start_utc": _iso(first.start_utc),
            "end_utc": _iso(last.end_utc),
            "start_offset_s": round(first.offset_s, 3),
            "end_offset_s": round(last.offset_s + last.duration, 3),
            "score": round(highlight.score, 6),
            "reasons": [r.to_dict() for r in reasons],
        }
        # Rendering stays here; storing happens on the uploader thread, which reports the
        # highlight only once both files are stored and their URLs answer.
        name = clip_name(self.stream_id, highlight.key)
        with self.ctx.uploader.staging() as folder:
            clip, thumb = render_highlight(highlight, self._recent, folder, self._segmenter.export)
            self.ctx.uploader.submit(
                self.stream_id,
                self._callback("highlights"),
                report,
                [
                    Upload(clip, name + ".mp4", "video/mp4", "clip_url"),
                    Upload(thumb, name + ".jpg", "image/jpeg", "thumbnail_url"),
                ],
            )
        self.highlights += 1

    # --- reporting ---------------------------------------------------------------------------

    def _set_state(self, state: str, error: str | None) -> None:
        changed = (state, error) != (self.state, self.last_error)
        self.state, self.last_error = state, error
        if changed:
            self._report_status()

    def _report_status(self) -> None:
        job = self.to_dict()
        self._reported_degraded = job["degraded"]
        self._post("status", {k: job[k] for k in self.STATUS_KEYS})

    def _post(self, kind: str, payload: dict) -> None:
        self.ctx.reporter.post(self.stream_id, self._callback(kind), payload)

    def _callback(self, kind: str) -> str:
        return f"{self.request.callback_base}/api/v1/streams/{self.stream_id}/{kind}"


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"
