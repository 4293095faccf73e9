"""`python -m server.analyze VIDEO [--chat LOG] [--json]`: score a recording like a live stream.

`python -m server.analyze --chat LOG` (no VIDEO) scores the chat alone, over the log's span:
audio and motion are missing (imputed), as for a stream without video.

Cuts the recording into 10 s windows, computes the same features with the same rolling
baselines as a live job, scores them with the metamodel and picks highlights with the same
selector. Chat LOG is a raw Twitch IRC log (with `tmi-sent-ts`; its first message is taken as the
start of the video unless --chat-offset says otherwise) or a TwitchDownloader chat JSON (times
already relative to the VOD); see `server.chat.logs` and docs/chat.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from pathlib import Path

from tqdm import tqdm

from appconfig import setting
from metamodel import MetamodelError, load_metamodel
from metamodel.cascade import REFERENCE_EVERY
from metamodel.selection import HighlightSelector
from server import media
from server.chat.logs import ChatLog, ChatLogError, read_chat_file
from server.chat.sentiment import load_with_fallback
from server.features import SegmentFeaturizer
from server.features.audio_tags import tagger_for_tools
from server.scoring import reaction_window, score_window

SEGMENT_SECONDS = 10.0

log = logging.getLogger("server.analyze")


def windows(duration: float, length: float = SEGMENT_SECONDS) -> Iterator[tuple[int, float, float]]:
    """(seq, start, end) of consecutive windows; a last partial window shorter than 2 s is dropped."""
    seq, start = 0, 0.0
    while duration - start >= min(2.0, length):
        yield seq, start, min(start + length, duration)
        seq += 1
        start += length


def between(items: Sequence, times: Sequence[float], lo: float, hi: float) -> list:
    """The items whose time (sorted `times`) is in [lo, hi): found by bisection, not a scan."""
    return list(items[bisect_left(times, lo) : bisect_left(times, hi)])


def analyze(
    video: Path | None,
    chat_log: Path | None = None,
    chat_offset: float | None = None,
    model_path: Path | None = None,
    per_hour: float | None = None,
    progress: bool = True,
) -> dict:
    """Return {"segments": [...], "highlights": [...]} for a recording."""
    model = load_metamodel(model_path)
    log_ = read_chat_file(chat_log) if chat_log else None
    t0 = (log_.video_start if log_ else 0.0) if chat_offset is None else chat_offset
    backend, notice = load_with_fallback(
        setting("CHAT_SENTIMENT_BACKEND", "auto"), setting("CHAT_SENTIMENT_MODEL", None)
    )
    if notice:
        log.warning(notice)
    featurizer = SegmentFeaturizer(sentiment=backend.classify)
    tagger = tagger_for_tools()  # without weights its features are None (imputed), as on the server
    featurizer.audio_tags = tagger.features
    featurizer.tag_reference_every = REFERENCE_EVERY if tagger.candidates_only else 1
    selector = HighlightSelector(per_hour or model.per_hour)
    chat = ChatIndex(log_) if log_ is not None else None
    segments, picked = [], []
    if video is None and log_ is None:
        raise ValueError("give a video, a chat log or both")
    duration = media.duration_of(video) if video is not None else _chat_span(log_, t0)  # type: ignore[arg-type]  # not None: checked above
    spans = list(windows(duration))
    for seq, start, end in tqdm(spans, desc="segments", unit="seg", disable=not progress):
        messages, events = chat.reacting_to(t0 + start) if chat else (None, None)
        scored = score_window(featurizer, model, video, messages, events, start, end - start, selector.bar_for(seq))
        segments.append(
            {
                "seq": seq,
                "start": start,
                "end": end,
                "features": scored.values,
                "score": scored.score,
                "reasons": [r.to_dict() for r in scored.reasons],
            }
        )
        found = selector.push(seq, scored.score)
        if found:
            picked.append(found)
    last = selector.flush()
    if last:
        picked.append(last)
    highlights = [
        {
            "start": segments[h.first_seq]["start"],
            "end": segments[h.last_seq]["end"],
            "score": h.score,
            "peak_seq": h.peak_seq,
            "reasons": segments[h.peak_seq]["reasons"],
        }
        for h in picked
    ]
    return {"segments": segments, "highlights": highlights}


def _chat_span(chat_log: ChatLog, t0: float) -> float:
    """Seconds from the video's start to the log's last message or event."""
    times = [m.ts for m in chat_log.messages] + [e.ts for e in chat_log.events]
    return max(times) - t0


class ChatIndex:
    """A chat log's messages and events, found per reaction window by bisection (8-hour VODs).

    Also a VOD job's chat (server/vod.py), with its (lag, length) reaction window."""

    def __init__(self, chat_log: ChatLog):
        self.messages = sorted(chat_log.messages, key=lambda m: m.ts)
        self.events = sorted(chat_log.events, key=lambda e: e.ts)
        self.message_times = [m.ts for m in self.messages]
        self.event_times = [e.ts for e in self.events]

    def reacting_to(self, start: float, window: tuple[float, float] | None = None) -> tuple[list, list]:
        """Messages and events reacting to a segment starting at `start` (the chat log's clock)."""
        lo, hi = reaction_window(start, *window) if window else reaction_window(start)
        return between(self.messages, self.message_times, lo, hi), between(self.events, self.event_times, lo, hi)


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.analyze", description=__doc__.split("\n")[0])
    parser.add_argument("video", type=Path, nargs="?", help="a recording ffmpeg can read (omit to score --chat alone)")
    parser.add_argument("--chat", type=Path, help="raw Twitch IRC log or TwitchDownloader chat JSON (optionally .gz)")
    parser.add_argument(
        "--chat-offset", type=float, help="epoch seconds of the video's start (default: first chat message)"
    )
    parser.add_argument("--model", type=Path, help="metamodel JSON (default: the shipped model)")
    parser.add_argument("--per-hour", type=float, help="highlight budget (default: the model's, usually 6 per hour)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.video is None and args.chat is None:
        parser.error("give VIDEO, --chat LOG, or both")
    for path in (args.video, args.chat):
        if path and not path.is_file():
            parser.error(f"{path}: no such file")
    started = time.process_time()
    try:
        result = analyze(args.video, args.chat, args.chat_offset, args.model, args.per_hour, progress=not args.json)
    except (media.MediaError, MetamodelError, ChatLogError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _print(result, args.json)
    n = len(result["segments"])
    log.info("%d segments, %.2f CPU-s per segment", n, (time.process_time() - started) / max(n, 1))
    return 0


def _print(result: dict, as_json: bool) -> None:
    if as_json:
        for segment in result["segments"]:
            print(json.dumps({k: segment[k] for k in ("start", "end", "features", "score", "reasons")}))
        print(json.dumps({"highlights": result["highlights"]}))
        return
    for s in result["segments"]:
        why = "; ".join(r["text"] for r in s["reasons"])
        print(f"{s['start']:7.1f}-{s['end']:7.1f}  score {s['score']:.3f}  {why}")
    for h in result["highlights"]:
        print(f"HIGHLIGHT {h['start']:.1f}-{h['end']:.1f} score {h['score']:.3f}")


if __name__ == "__main__":
    sys.exit(cli())
