"""Two renditions per stream (issue 12): the smallest is scored, the best is clipped, and a clip
is the moment that was scored, found by the timestamps the renditions share."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from live_ingest import ingesting
from streamlink import Streamlink
from waiting import wait_for

from metamodel import load_metamodel
from metamodel.selection import Highlight
from server.demo.hls_server import LiveHLSServer
from server.demo.segments import Rung, prepare_renditions
from server.export import render_highlight
from server.ingest import CUT_NICENESS, LiveSegmenter
from server.jobs import JobContext, StreamJob
from server.media import MOTION_FPS, decode_grey_frames, probe
from server.renditions import Rendition, choose, renditions_of
from server.reporter import Reporter
from server.spool import Spool, Uploader
from server.storage import LocalStorage
from server.validation import JobRequest

LADDER = (Rung(640, 360, 30, 700), Rung(284, 160, 30, 230))


def rendition(name: str, height: int, fps: int = 30, bandwidth: int = 0) -> Rendition:
    return Rendition(name, height, fps, bandwidth)


def test_the_smallest_rendition_with_enough_pixels_is_analysed_and_the_best_exported():
    ladder = [rendition("1080p60", 1080, 60), rendition("720p60", 720, 60), rendition("720p", 720),
              rendition("360p", 360), rendition("160p", 160)]  # fmt: skip
    analysed, exported = choose(ladder)
    assert (analysed.name, exported and exported.name) == ("160p", "1080p60")


def test_a_rendition_too_small_for_the_motion_frames_is_not_analysed():
    analysed, exported = choose([rendition("72p", 72), rendition("480p", 480), rendition("1080p", 1080)])
    assert (analysed.name, exported and exported.name) == ("480p", "1080p")
    analysed, exported = choose([rendition("72p", 72), rendition("54p", 54)])
    assert (analysed.name, exported) == ("72p", None), "the tallest there is, read once"


def test_one_rendition_is_read_once_and_no_sizes_means_streamlinks_best():
    analysed, exported = choose([rendition("720p", 720)])
    assert (analysed.name, exported) == ("720p", None)
    assert choose([]) is None


@pytest.fixture(scope="module")
def ladder_segments(tmp_path_factory) -> dict[Rung, list[Path]]:
    found = prepare_renditions(tmp_path_factory.mktemp("ladder"), LADDER)
    return {rung: found[rung.name] for rung in LADDER}


@pytest.fixture
def twitch_like(ladder_segments):
    server = LiveHLSServer(ladder_segments, channels=("demo_channel",))
    server.start()
    yield server
    server.stop()


def test_sizes_come_from_the_multi_variant_playlist_not_the_aliases(twitch_like):
    streams = Streamlink().streams(twitch_like.url("demo_channel"))
    found = {r.name: (r.height, r.fps, r.bandwidth) for r in renditions_of(streams)}
    assert found == {"360p": (360, 30, 800000), "160p": (160, 30, 330000)}, "best and worst are aliases"


def test_an_entry_without_a_size_such_as_audio_only_is_no_rendition():
    # As streamlink's Twitch plugin lists it: an entry whose playlist announces no RESOLUTION.
    audio = SimpleNamespace(resolution=None, framerate=None, bandwidth=160000)
    video = SimpleNamespace(resolution=SimpleNamespace(width=1280, height=720), framerate=60.0, bandwidth=3500000)
    multivariant = SimpleNamespace(
        playlists=[SimpleNamespace(uri="a.m3u8", stream_info=audio), SimpleNamespace(uri="v.m3u8", stream_info=video)]
    )
    streams = {
        "audio_only": SimpleNamespace(url="a.m3u8", multivariant=multivariant),
        "720p60": SimpleNamespace(url="v.m3u8", multivariant=multivariant),
        "live": SimpleNamespace(url="x.m3u8", multivariant=None),  # a plain media playlist: no size known
    }
    assert [(r.name, r.height, r.fps) for r in renditions_of(streams)] == [("720p60", 720, 60)]


def width_of(path: Path) -> int:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width", "-of", "csv=p=0",
         str(path)], capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return int(out.split()[0])


@pytest.fixture
def segmenter(twitch_like, tmp_path):
    """Live ingest of the two-rendition channel in 4 s segments, as a job's would be."""
    return LiveSegmenter(
        twitch_like.url("demo_channel"), tmp_path / "ring", 4.0, 60, 10.0, [f"127.0.0.1:{twitch_like.port}"]
    )


@pytest.mark.timeout(120)
def test_a_clip_is_cut_from_the_best_rendition_at_the_timestamps_of_the_scored_segment(segmenter, tmp_path):
    with ingesting(segmenter) as segments:
        assert wait_for(lambda: len(segments) >= 4, timeout=60), "segments are cut"
        lead_in, scored = segments[1], segments[2]  # a highlight of two segments, peaking in the second
        assert wait_for(lambda: segmenter.export.covering(scored.pts, scored.pts + scored.duration), timeout=20)
        clip = render_highlight(
            Highlight(first_seq=lead_in.seq, last_seq=scored.seq, peak_seq=scored.seq, score=0.9),
            {s.seq: s for s in segments},
            tmp_path,
            segmenter.export,
        )[0]
        pieces = segmenter.export.covering(lead_in.pts, scored.pts + scored.duration)
    assert scored.pts is not None and pieces
    assert width_of(scored.path) == 284, "the scored segment is the smallest rendition"
    assert width_of(clip) == 640, "the clip is the best rendition"
    assert pieces[0].pts <= lead_in.pts + 0.05 and pieces[-1].end >= scored.pts + scored.duration - 0.05
    # The same moment: the scored segment's frames against the clip's, aligned by timestamp, and
    # a second either way (the demo's gameplay moves, so a misaligned clip shows).
    analysed = decode_grey_frames(scored.path).astype(np.float32)
    offset = scored.pts - pieces[0].pts

    def difference(shift: float) -> float:
        frames = decode_grey_frames(clip, start=offset + shift, duration=scored.duration).astype(np.float32)
        n = min(len(frames), len(analysed)) - MOTION_FPS
        return float(np.abs(frames[:n] - analysed[:n]).mean())

    aligned, early, late = difference(0.0), difference(-1.0), difference(1.0)
    assert aligned < 4.0 and aligned < 0.75 * min(early, late), (aligned, early, late)


@pytest.mark.timeout(120)
def ffmpeg_children() -> list[int]:
    """Pids of this process's ffmpeg children (nice(1) execs ffmpeg in place)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue  # exited meanwhile
        if name.endswith("(ffmpeg") and int(rest.split()[1]) == os.getpid():
            found.append(int(stat.parent.name))
    return found


@pytest.mark.timeout(120)
def test_both_cutters_run_nicer_than_the_server(segmenter):
    # Cutting has ~14 s of slack before a segment can be scored; scoring and reporting have none.
    with ingesting(segmenter) as segments:
        assert wait_for(lambda: len(segments) >= 1, timeout=60), "segments are cut"
        cutters = ffmpeg_children()
        niceness = {os.getpriority(os.PRIO_PROCESS, pid) for pid in cutters}
    assert len(cutters) == 2, "the analysed and the exported rendition"
    assert niceness == {os.getpriority(os.PRIO_PROCESS, 0) + CUT_NICENESS}


def test_a_live_job_publishes_its_highlights_from_the_best_rendition(twitch_like, tmp_path, webapp_stub):
    """Through the job's own path: live ingest of both renditions, scoring, render, spool, store."""
    storage = LocalStorage(tmp_path / "media", "http://127.0.0.1:5000/media")
    reporter = Reporter("ingest-token", min_backoff=0.05, max_backoff=0.2)
    uploader = Uploader(Spool(tmp_path / "spool", 100), storage, reporter, min_backoff=0.05, max_backoff=0.2)
    reporter.start()
    uploader.start()
    ctx = JobContext(
        tmp_path / "data", reporter, load_metamodel, uploader, segment_seconds=4.0, reaction_window=(0.5, 4.0),
        source_hosts=(f"127.0.0.1:{twitch_like.port}",),
    )  # fmt: skip
    job = StreamJob(JobRequest(3, "demo_channel", twitch_like.url("demo_channel"), None, webapp_stub.url), ctx)
    job.start()
    try:
        assert wait_for(lambda: job.segments_done >= 3, timeout=90), job.to_dict()
        first, peak = sorted(job._recent)[-2:]
        job._publish(Highlight(first_seq=first, last_seq=peak, peak_seq=peak, score=0.9))
        assert wait_for(lambda: webapp_stub.posted("highlights"), timeout=60)
    finally:
        job.stop()
        uploader.stop()
        reporter.stop()
    [clip] = (tmp_path / "media").rglob("*.mp4")
    assert width_of(clip) == 640, "the clip is the best rendition, though the job scored the 160p one"
    assert 7.5 <= float(probe(clip)["format"]["duration"]) <= 10.5, "the two 4 s segments, to a keyframe"
