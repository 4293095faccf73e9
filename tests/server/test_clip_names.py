"""Clip URLs cannot be guessed (issue 11, finding 5: 720 HEAD requests found 10 of another user's
12 clips, whose names were their segment numbers): every stored name has 128 random bits."""

from __future__ import annotations

import re
import subprocess

from waiting import wait_for

from metamodel import load_metamodel
from metamodel.selection import Highlight
from server.ingest import Segment
from server.jobs import JobContext, StreamJob
from server.reporter import Reporter
from server.spool import Spool, Uploader
from server.storage import LocalStorage, clip_name
from server.validation import JobRequest


def test_a_clip_name_keeps_the_stream_folder_and_key_and_adds_128_random_bits():
    names = {clip_name(12, "0007-0009") for _ in range(1000)}
    assert len(names) == 1000
    for name in names:
        match = re.fullmatch(r"12/0007-0009-([A-Za-z0-9_-]{22})", name)
        assert match, name  # 22 URL-safe characters = 16 bytes = 128 bits


def make_segment(path):
    """A real 2 s MPEG-TS segment (video with a keyframe every 0.4 s, and audio), made by ffmpeg."""
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=2:size=320x240:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "10",
            "-c:a",
            "aac",
            "-f",
            "mpegts",
            str(path),
        ],
        check=True,
    )
    return path


def test_a_published_highlight_is_stored_under_an_unguessable_name(tmp_path, webapp_stub):
    """Through the job's own publishing path: render, spool, store, report (a real spool and outbox)."""
    storage = LocalStorage(tmp_path / "media", "http://127.0.0.1:5000/media")
    reporter = Reporter("ingest-token", min_backoff=0.05, max_backoff=0.2)
    uploader = Uploader(Spool(tmp_path / "spool", 100), storage, reporter, min_backoff=0.05, max_backoff=0.2)
    reporter.start()
    uploader.start()
    try:
        ctx = JobContext(tmp_path / "data", reporter, load_metamodel, uploader)
        request = JobRequest(12, "demo", "hls://http://127.0.0.1:1/x.m3u8", None, webapp_stub.url)
        job = StreamJob(request, ctx)
        for seq in range(2):
            job._remember(Segment(seq, make_segment(tmp_path / f"{seq}.ts"), 2.0, 1_700_000_000.0 + 2 * seq, 2.0 * seq))
        highlight = Highlight(first_seq=0, last_seq=1, peak_seq=0, score=0.9)
        job._publish(highlight)
        assert wait_for(lambda: webapp_stub.posted("highlights"), timeout=60)
    finally:
        uploader.stop()
        reporter.stop()
    [report] = webapp_stub.posted("highlights")
    clip_url, thumb_url = report["clip_url"], report["thumbnail_url"]
    assert clip_url != f"http://127.0.0.1:5000/media/12/{highlight.key}.mp4"
    assert re.fullmatch(rf"http://127\.0\.0\.1:5000/media/12/{highlight.key}-[A-Za-z0-9_-]{{22}}\.mp4", clip_url)
    assert thumb_url == clip_url[: -len(".mp4")] + ".jpg"
    assert not (tmp_path / "media" / "12" / f"{highlight.key}.mp4").exists()
