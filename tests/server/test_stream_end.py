"""A moment still going on when the stream goes off the air is published too: the ingest marks
the end in the scoring queue, after the stream's last segment, and the selector's open run closes."""

from __future__ import annotations

import time

from test_clip_names import make_segment
from waiting import wait_for

from metamodel import load_metamodel
from server.ingest import Segment
from server.jobs import JobContext, StreamJob
from server.reporter import Reporter
from server.spool import Spool, Uploader
from server.storage import LocalStorage
from server.validation import JobRequest


def test_a_highlight_in_progress_when_the_stream_ends_is_published(tmp_path, webapp_stub):
    storage = LocalStorage(tmp_path / "media", "http://127.0.0.1:5000/media")
    reporter = Reporter("ingest-token", min_backoff=0.05, max_backoff=0.2)
    uploader = Uploader(Spool(tmp_path / "spool", 100), storage, reporter, min_backoff=0.05, max_backoff=0.2)
    ctx = JobContext(tmp_path / "data", reporter, load_metamodel, uploader, segment_seconds=2.0, reaction_window=(0, 0))
    job = StreamJob(JobRequest(5, "demo", "hls://http://127.0.0.1:1/x.m3u8", None, webapp_stub.url), ctx)
    for seq in range(10):  # a quiet history: the bar is low
        job._selector.push(seq, 0.001)
    reporter.start()
    uploader.start()
    score_loop = job._threads[1]  # only the scoring thread: the test is the ingest
    score_loop.start()
    try:
        now = time.time()
        job._segments.put(Segment(10, make_segment(tmp_path / "10.ts"), 2.0, now, 20.0))
        assert wait_for(lambda: job.segments_done == 1 and job._selector._run, timeout=30), "a run is open"
        assert not webapp_stub.posted("highlights")
        job._segments.put(None)  # what the ingest queues when the stream went off the air
        assert wait_for(lambda: webapp_stub.posted("highlights"), timeout=60)
    finally:
        job._stop.set()
        score_loop.join(5)
        uploader.stop()
        reporter.stop()
    [report] = webapp_stub.posted("highlights")
    assert report["key"] == "5-000009-000010", "the open run, with its lead-in"


def test_the_ingest_marks_the_end_of_a_stream_that_goes_off_the_air(hls_server, tmp_path, webapp_stub):
    reporter = Reporter("ingest-token", min_backoff=0.05, max_backoff=0.2)
    uploader = Uploader(Spool(tmp_path / "spool", 100), LocalStorage(tmp_path / "media", "http://127.0.0.1:5000/m"),
                        reporter)  # fmt: skip
    ctx = JobContext(
        tmp_path / "data", reporter, load_metamodel, uploader, segment_seconds=4.0, reaction_window=(0, 0),
        read_timeout_s=4.0, retry_min_s=30.0, source_hosts=(f"127.0.0.1:{hls_server.port}",),
    )  # fmt: skip
    job = StreamJob(JobRequest(6, "demo", hls_server.url("demo_channel"), None, webapp_stub.url), ctx)
    ended = []
    real = job._stream_ended
    job._stream_ended = lambda: (ended.append(job.segments_done), real())  # type: ignore[method-assign]
    reporter.start()
    job.start()
    try:
        assert wait_for(lambda: job.segments_done >= 1, timeout=60)
        hls_server.set_online("demo_channel", False)
        assert wait_for(lambda: ended, timeout=60), "the end reaches the scoring thread"
        assert job.state == "offline"
    finally:
        job.stop()
        reporter.stop()
    assert ended[0] >= 1 and ended[0] == job.segments_done, "after the stream's last segment was scored"
