"""Benchmark the whole box: N live Twitch-like channels at real resolution through one server.

    .venv/bin/python -m bench.streams [--streams N] [--minutes M] [--find-max] [--no-tags | --tag-all]
                                      [--ladder twitch|small] [--warmup S] [--json] [--workers K]
                                      [--in-step]

Serves N channels on loopback the way Twitch does (a master playlist offering 1080p60, 720p60,
360p30 and 160p30 renditions of the demo clips, encoded once and cached under var/bench/) and
replays the real #xqcow chat to each, starts the real processing server (`python -m server`) as
a separate process, posts one job per channel with chat on, and records when each segment's
report reaches a loopback stand-in for the webapp. Audio tagging runs with a randomly
initialised Cnn14 saved in the official checkpoint format (random weights cost the same CPU as
the real ones), on candidate segments only (AUDIO_TAG_CANDIDATES_ONLY) unless --tag-all or
--no-tags. Chat sentiment is the offline lexicon.

After a warm-up (every stream has reported its first segment, then --warmup seconds), it
measures for --minutes and reports, per N: CPU-seconds of the server and all its child processes
(ffmpeg) per 10 s segment; the same as a ratio to ffmpeg merely decoding 10 s of the best
rendition (measured in the same run: the machine-independent figure); segments scored per 10 s
of wall time (keeping up means N); lag p50/p95/max; peak resident memory of server + children.
Lag does not count the server's deliberate wait for the chat reaction window (see
bench/streams_summary.py). --find-max raises N (doubling, then bisecting) until p95 lag passes
5 s or the server scores fewer than 90 % of the segments, and reports the largest N that held.
Channel i joins the demo's video loop and the chat log at its own point (a share of each
spread by the golden ratio), as independent channels do not show the same moment in the same
second; --in-step serves every channel the same moment at once (the worst case: all streams
score, tag and publish highlights together). --workers K runs the server in cluster mode with a scheduler and K stream workers on loopback
(bench/cluster_setup.py, docs/scaling.md) and counts all their CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

from appconfig import ROOT
from bench.callback import ReportRecorder
from bench.cluster_setup import BenchCluster, cpu_pids
from bench.procs import cpu_seconds, decode_cpu_seconds, rss_mb
from bench.streams_summary import (
    LAG_DEFINITION,
    SEGMENT_SECONDS,
    TABLE_HEADER,
    Mark,
    Window,
    fmt,
    table_row,
    to_dict,
    windows,
)
from metamodel.schema import CHAT_LAG_S, CHAT_WINDOW_S
from server.demo.hls_server import LiveHLSServer
from server.demo.irc_server import DEFAULT_LOG, LOOP_GAP, TwitchIRCServer, load_log
from server.demo.segments import SEGMENT_SECONDS as HLS_SEGMENT_SECONDS
from server.demo.segments import TWITCH_LADDER, Rung, prepare_renditions
from server.demo.stack import HOST, Stack, free_port

LADDERS: dict[str, tuple[Rung, ...]] = {
    "twitch": TWITCH_LADDER,  # what a partnered Twitch channel offers
    "small": tuple(r for r in TWITCH_LADDER if r.height <= 360),  # 360p + 160p: quick, for tests
}
CACHE_DIR = ROOT / "var" / "bench"
LAG_LIMIT_S = 5.0  # --find-max: p95 lag above this and N no longer holds
KEEP_UP = 0.9  # --find-max: ...nor if fewer than this share of the segments due were scored
FIRST_REPORT_TIMEOUT_S = 180.0  # from posting the jobs to every stream's first report, plus 5 s per stream


def say(message: str) -> None:
    """Progress, on stderr (stdout carries only the table or the JSON)."""
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# --- the channel ------------------------------------------------------------------------------


def prepare_channel(ladder_name: str, cache_dir: Path) -> dict[Rung, list[Path]]:
    """The ladder's renditions of the demo, encoded once (a few minutes for the Twitch ladder)."""
    ladder = LADDERS[ladder_name]
    folder = cache_dir / f"{ladder_name}-ladder"
    say(f"renditions {', '.join(r.name for r in ladder)} in {folder} (encoded once; minutes the first time)")
    started = time.monotonic()
    with _ticking(lambda s: say(f"  still preparing the renditions ({s:.0f} s)")):
        found = prepare_renditions(folder, ladder)
    say(f"  renditions ready after {time.monotonic() - started:.0f} s")
    return {rung: found[rung.name] for rung in ladder}


def decode_baseline(files: Sequence[Path], repeat: int = 3) -> float:
    """Median CPU-seconds of ffmpeg decoding SEGMENT_SECONDS of `files` (one rendition)."""
    parts = list(files[: int(SEGMENT_SECONDS // HLS_SEGMENT_SECONDS)])
    return statistics.median(decode_cpu_seconds(parts) for _ in range(repeat))


def random_checkpoint(folder: Path, model: str = "Cnn14") -> Path:
    """A randomly initialised `model` saved as the official checkpoints are ({"model": state})."""
    import torch

    from panns.model import build

    torch.manual_seed(0)
    path = folder / f"{model}_random.pth"
    torch.save({"model": build(model).state_dict()}, path)
    return path


# --- one run at N streams ---------------------------------------------------------------------


@dataclass
class Setup:
    """What every run shares: the channel, the chat, the checkpoint, the baseline."""

    hls: LiveHLSServer
    irc: TwitchIRCServer
    workdir: Path
    checkpoint: Path | None  # None: tagging off
    tags: str
    decode_s: float
    decode_rendition: str
    workers: int = 0  # --workers: cluster mode with this many stream workers (bench/cluster_setup.py)


@dataclass
class Run:
    streams: int
    windows: list[Window]
    degraded: list[str]
    held: bool
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "streams": self.streams,
            "held": self.held,
            "windows": [to_dict(w) for w in self.windows],
            "degraded": self.degraded,
            "errors": self.errors,
        }


def channel_name(i: int) -> str:
    return f"bench_stream_{i:03d}"


GOLDEN = (5**0.5 - 1) / 2  # i * GOLDEN mod 1 spreads any number of channels evenly over [0, 1)


def stagger(names: Sequence[str], loop_segments: int, log_seconds: float) -> tuple[dict[str, int], dict[str, float]]:
    """Where each channel joins the video loop (segments ahead) and the chat log (seconds in):
    the i-th channel at the share i * GOLDEN (mod 1) of each, so channels never play in step."""
    shares = {name: (i * GOLDEN) % 1.0 for i, name in enumerate(names)}
    shifts = {name: int(share * loop_segments) for name, share in shares.items()}
    head_starts = {name: share * log_seconds for name, share in shares.items()}
    return shifts, head_starts


def server_env(setup: Setup, streams: int) -> dict[str, str]:
    """Settings on top of the stack's wiring (demo channel, demo chat, loopback allow-lists)."""
    return {
        "MAX_JOBS": str(max(streams, 1)),
        "SEGMENT_SECONDS": str(SEGMENT_SECONDS),
        "CHAT_LAG_S": str(CHAT_LAG_S),
        "CHAT_WINDOW_S": str(CHAT_WINDOW_S),
        "CHAT_SENTIMENT_BACKEND": "lexicon",
        # No checkpoint at this path: tagging is off whatever the machine has downloaded.
        "PANNS_CHECKPOINT": str(setup.checkpoint or setup.workdir / "no-checkpoint.pth"),
        "PANNS_MODEL": "Cnn14",
        "AUDIO_TAG_CANDIDATES_ONLY": "true" if setup.tags == "candidates" else "false",
    }


def run_streams(setup: Setup, streams: int, minutes: float, warmup_s: float) -> Run:
    """Start a fresh server, post `streams` jobs, warm up, measure for `minutes`, stop it."""
    workdir = Path(tempfile.mkdtemp(prefix=f"n{streams}-", dir=setup.workdir))
    (workdir / "logs").mkdir()
    cluster = BenchCluster(workdir, setup.workers, streams) if setup.workers else None
    if cluster:
        cluster.start_storage()
    stack = Stack(
        workdir,
        server_port=free_port(),
        hls_port=setup.hls.port,
        irc_port=setup.irc.port,
        extra_env={**server_env(setup, streams), **(cluster.env() if cluster else {})},
    )
    recorder = ReportRecorder(stack.secrets["INGEST_API_TOKEN"])
    rss: list[tuple[float, float]] = []
    stop_sampling = threading.Event()
    try:
        say(f"N={streams}: starting the processing server")
        stack.start_part("server", timeout=120)
        pid = stack.processes["server"].pid
        if cluster:
            say(f"N={streams}: starting a scheduler and {cluster.workers} worker(s) of {cluster.slots} stream slot(s)")
            cluster.start(stack.env())
            cluster.wait_joined(stack.server_url)
        pids = cpu_pids(pid, cluster)
        sampler = threading.Thread(target=_sample_rss, args=(pids, rss, stop_sampling), daemon=True)
        sampler.start()
        for i in range(1, streams + 1):
            name = channel_name(i)
            body = {"stream_id": i, "source": name, "chat_channel": name, "callback_base": recorder.url}
            answer = requests.post(f"{stack.server_url}/api/v1/jobs", json=body, headers=stack.server_auth, timeout=30)
            if answer.status_code not in (200, 201):
                raise RuntimeError(f"POST /api/v1/jobs answered {answer.status_code}: {answer.text}")
        _wait_for_first_reports(stack, recorder, streams)
        if warmup_s > 0:
            say(f"N={streams}: warming up for {warmup_s:.0f} s more")
            time.sleep(warmup_s)
        marks = _measure(pids, recorder, streams, minutes, rss, setup.decode_s)
        stop_sampling.set()
        found = windows(marks, recorder.segments(), rss, streams, setup.decode_s)
        degraded = sorted({d for s in recorder.status().values() for d in s.get("degraded", [])})
        errors = sorted({s["last_error"] for s in recorder.status().values() if s.get("last_error")})
        if recorder.refused:
            errors.append(f"{recorder.refused} reports refused: wrong token")
        whole = found[0]
        held = (
            whole.lag_p95_s is not None
            and whole.lag_p95_s <= LAG_LIMIT_S
            and whole.segments_per_10s >= KEEP_UP * streams
        )
        return Run(streams, found, degraded, held, errors)
    except Exception:
        if "server" in stack.processes:
            say(f"server log (last lines):\n{stack.log_of('server')[-3000:]}")
        raise
    finally:
        stop_sampling.set()
        if cluster:
            cluster.stop()  # first: a server stopped in cluster mode leaves its streams running
        if "server" in stack.processes:
            stack.stop_part("server")
        recorder.close()
        # The server's ring buffers hold up to RING_SEGMENTS 1080p60 segments per stream (~450 MB):
        # gone after each N, so that --find-max does not fill the disk.
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_for_first_reports(stack: Stack, recorder: ReportRecorder, streams: int) -> None:
    timeout = FIRST_REPORT_TIMEOUT_S + 5 * streams
    posted = time.monotonic()
    say(
        f"N={streams}: jobs posted; first reports in up to ~{CHAT_LAG_S + CHAT_WINDOW_S + SEGMENT_SECONDS:.0f} s "
        "(a segment, then its chat reaction window)"
    )
    last_note = posted
    while len(recorder.streams_reporting()) < streams:
        if stack.processes["server"].poll() is not None:
            raise RuntimeError("the processing server exited")
        now = time.monotonic()
        if now - posted > timeout:
            raise RuntimeError(
                f"only {len(recorder.streams_reporting())} of {streams} streams reported a segment in {timeout:.0f} s"
            )
        if now - last_note >= 15:
            say(f"  {len(recorder.streams_reporting())}/{streams} streams reporting ({now - posted:.0f} s)")
            last_note = now
        time.sleep(0.5)
    say(f"N={streams}: every stream reporting after {time.monotonic() - posted:.0f} s")


def _measure(
    pids: Sequence[int], recorder: ReportRecorder, streams: int, minutes: float, rss: list, decode_s: float
) -> list[Mark]:
    """A CPU reading at the start, then once a minute and at the end; a progress line each minute."""
    marks = [Mark(time.time(), sum(map(cpu_seconds, pids)))]
    end = marks[0].t + minutes * 60
    say(f"N={streams}: measuring for {minutes:g} min")
    while marks[-1].t < end - 0.05:
        time.sleep(max(0.0, min(marks[-1].t + 60, end) - time.time()))
        marks.append(Mark(time.time(), sum(map(cpu_seconds, pids))))
        last = windows(marks[-2:], recorder.segments(), rss, streams, decode_s)[0]
        say(
            f"  minute {len(marks) - 1}: {last.segments} segments, {fmt(last.cpu_s_per_segment, 3)} CPU-s each, "
            f"lag p95 {fmt(last.lag_p95_s, 2)} s, RSS {fmt(last.peak_rss_mb, 0)} MB"
        )
    return marks


def _sample_rss(pids: Sequence[int], into: list[tuple[float, float]], stop: threading.Event) -> None:
    while not stop.wait(1.0):
        into.append((time.time(), sum(map(rss_mb, pids))))


# --- several runs: --find-max ------------------------------------------------------------------


def find_max(measure: Callable[[int], Run], start: int, limit: int) -> tuple[list[Run], int]:
    """Double N from `start` until a run fails to hold (or `limit`), then bisect; return every run
    and the largest N that held (0 if none did)."""
    runs: dict[int, Run] = {}

    def holds(n: int) -> bool:
        runs[n] = measure(n)
        say(f"N={n}: {'held' if runs[n].held else 'did NOT hold'}")
        return runs[n].held

    good, bad, n = 0, None, max(1, start)
    while bad is None:
        if holds(n):
            good = n
            if n >= limit:
                break
            n = min(2 * n, limit)
        else:
            bad = n
    if bad is not None:
        while bad - good > 1:
            middle = (good + bad) // 2
            if holds(middle):
                good = middle
            else:
                bad = middle
    return [runs[k] for k in sorted(runs)], good


# --- output ------------------------------------------------------------------------------------


def markdown(setup: Setup, runs: Sequence[Run], header: dict, max_held: int | None) -> str:
    lines = [
        f"Command: `{header['command']}` ({header['date']}, {header['cpus']} CPUs, "
        f"load average {header['load_before']:.2f} before the run; channels {header['channels']})",
        "",
        f"Decode baseline: ffmpeg decoding 10 s of the {setup.decode_rendition} rendition = "
        f"{setup.decode_s:.3f} CPU-s (same run); the ratio column divides by it.",
        f"{LAG_DEFINITION[0].upper()}{LAG_DEFINITION[1:]}.",
        "",
        TABLE_HEADER,
    ]
    for run in runs:
        lines += [table_row(run.streams, setup.tags, w) for w in run.windows]
    chat = [(run.streams, run.windows[0]) for run in runs if run.windows]
    lines += [
        "",
        "Chat on: segments with chat messages in their reaction window, of those measured: "
        + ", ".join(f"N={n}: {w.segments_with_chat}/{w.segments}" for n, w in chat),
    ]
    notes = sorted({d for run in runs for d in run.degraded})
    errors = sorted({e for run in runs for e in run.errors})
    if notes:
        lines += ["", "Degraded (the jobs' own notices): " + "; ".join(notes)]
    if errors:
        lines += ["", "Errors: " + "; ".join(errors)]
    if max_held is not None:
        lines += [
            "",
            f"Largest N that held (p95 lag <= {LAG_LIMIT_S:g} s and >= {KEEP_UP:.0%} of segments scored): {max_held}",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.streams", description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, default=1, help="live streams at once (default 1; --find-max: start)")
    parser.add_argument("--minutes", type=float, default=2.0, help="measurement per N, after the warm-up (default 2)")
    parser.add_argument(
        "--warmup", type=float, default=60.0, help="seconds discarded after every stream's first report (default 60)"
    )
    parser.add_argument("--find-max", action="store_true", help=f"raise N until p95 lag passes {LAG_LIMIT_S:g} s")
    parser.add_argument("--max-streams", type=int, default=64, help="--find-max stops here (default 64)")
    tags = parser.add_mutually_exclusive_group()
    tags.add_argument("--no-tags", dest="tags", action="store_const", const="off", help="audio tagging off")
    tags.add_argument("--tag-all", dest="tags", action="store_const", const="all", help="tag every segment")
    parser.set_defaults(tags="candidates")
    parser.add_argument("--ladder", choices=sorted(LADDERS), default="twitch", help="renditions (small: 360p+160p)")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help=f"encoded renditions (default {CACHE_DIR})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the markdown table")
    parser.add_argument(
        "--workers", type=int, default=0, help="cluster mode: a scheduler and K stream workers (default 0: one server)"
    )
    parser.add_argument(
        "--in-step", action="store_true", help="every channel the same moment at once (default: staggered)"
    )
    args = parser.parse_args(argv)
    if args.workers < 0:
        parser.error("--workers must be >= 0")
    if args.streams < 1 or args.minutes <= 0 or args.warmup < 0:
        parser.error("--streams must be >= 1, --minutes > 0, --warmup >= 0")
    if args.find_max and args.streams > args.max_streams:
        parser.error("--find-max starts at --streams, which must not exceed --max-streams")
    header = {
        "command": "python -m bench.streams " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg()[0],
        "channels": "in step" if args.in_step else "staggered",
    }
    channel = prepare_channel(args.ladder, args.cache_dir)
    best = next(iter(channel))  # the ladder lists the best rendition first, as Twitch does
    say(f"decode baseline: ffmpeg decoding 10 s of {best.name}")
    decode_s = decode_baseline(channel[best])
    say(f"  {decode_s:.3f} CPU-s")
    with tempfile.TemporaryDirectory(prefix="bench-streams-") as tmp:
        workdir = Path(tmp)
        checkpoint = None
        if args.tags != "off":
            say("audio tagging: a random Cnn14 in the official checkpoint format")
            checkpoint = random_checkpoint(workdir)
        names = [channel_name(i) for i in range(1, (args.max_streams if args.find_max else args.streams) + 1)]
        shifts: dict[str, int] = {}
        head_starts: dict[str, float] = {}
        if not args.in_step:
            log_seconds = load_log(DEFAULT_LOG)[-1].offset + LOOP_GAP
            shifts, head_starts = stagger(names, len(channel[best]), log_seconds)
        hls = LiveHLSServer(channel, channels=names, host=HOST, shifts=shifts)
        irc = TwitchIRCServer(DEFAULT_LOG, speed=1.0, host=HOST, head_starts=head_starts)
        hls.start()
        irc.start()
        setup = Setup(hls, irc, workdir, checkpoint, args.tags, decode_s, best.name, args.workers)
        try:
            if args.find_max:
                runs, max_held = find_max(
                    lambda n: run_streams(setup, n, args.minutes, args.warmup), args.streams, args.max_streams
                )
            else:
                runs, max_held = [run_streams(setup, args.streams, args.minutes, args.warmup)], None
        finally:
            irc.stop()
            hls.stop()
    if args.json:
        report = {
            **header,
            "tags": args.tags,
            "ladder": [r.name for r in LADDERS[args.ladder]],
            "lag_definition": LAG_DEFINITION,
            "decode_baseline": {"rendition": best.name, "cpu_s_per_10s": round(decode_s, 4)},
            "runs": [run.to_dict() for run in runs],
            "max_streams_held": max_held,
        }
        print(json.dumps(report, indent=1))
    else:
        print(markdown(setup, runs, header, max_held))
    return 0


class _ticking:
    """Call `note(seconds elapsed)` every `every` seconds while the block runs."""

    def __init__(self, note: Callable[[float], None], every: float = 30.0) -> None:
        self._note, self._every, self._done = note, every, threading.Event()

    def __enter__(self) -> None:
        started = time.monotonic()

        def tick() -> None:
            while not self._done.wait(self._every):
                self._note(time.monotonic() - started)

        threading.Thread(target=tick, daemon=True).start()

    def __exit__(self, *exc: object) -> None:
        self._done.set()


if __name__ == "__main__":
    sys.exit(main())
