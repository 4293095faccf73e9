"""The demo live channel: segments cut by ffmpeg, served as live HLS, read by streamlink."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from streamlink import Streamlink
from streamlink.exceptions import PluginError

from server.demo.hls_server import LiveHLSServer, media_playlist, window_for
from server.demo.segments import SEGMENT_SECONDS, Rung, SegmentError, prepare_renditions, prepare_segments

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed"),
]

TS_PACKET = 188  # bytes per MPEG-TS packet, each starting with the sync byte 0x47
SPEED = 4.0  # a segment every 0.5 s


@pytest.fixture
def segments(demo_segments: list[Path]) -> list[Path]:
    # `demo_segments` (tests/conftest.py) encodes once per session for every test that needs video.
    return demo_segments


@pytest.fixture
def server(segments: list[Path]) -> Iterator[LiveHLSServer]:
    server = LiveHLSServer(segments, window=window_for(SPEED), speed=SPEED)
    server.start()
    yield server
    server.stop()


def http_url(server: LiveHLSServer, path: str) -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def media_sequence(server: LiveHLSServer) -> int:
    res = requests.get(http_url(server, "/live/demo_channel/index.m3u8"), timeout=5)
    res.raise_for_status()
    found = re.search(r"^#EXT-X-MEDIA-SEQUENCE:(\d+)$", res.text, re.M)
    assert found, res.text
    return int(found[1])


def assert_mpegts(data: bytes) -> None:
    assert len(data) >= TS_PACKET and len(data) % TS_PACKET == 0
    assert all(data[i] == 0x47 for i in range(0, len(data), TS_PACKET))


def test_segments_are_two_second_mpegts_starting_on_keyframes(segments: list[Path]) -> None:
    assert len(segments) == 60  # 2 clips x 60 s / 2 s
    for path in segments:
        assert_mpegts(path.read_bytes())
    for path in (segments[0], segments[15], segments[31], segments[-1]):  # incl. clip switches
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", "v", "-read_intervals", "%+#1",
             "-show_entries", "frame=key_frame:stream=codec_name,profile", "-of", "csv=p=0:s=/",
             str(path)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        found = {line.rstrip("/") for line in probe.stdout.splitlines() if line}
        assert found == {"1", "h264/Constrained Baseline"}  # key_frame=1, and the codec config


def test_prepared_segments_are_reused(segments: list[Path]) -> None:
    written = [p.stat().st_mtime_ns for p in segments]
    assert prepare_segments(segments[0].parent.parent) == segments  # cache/<rendition>/NNN.ts
    assert [p.stat().st_mtime_ns for p in segments] == written, "not encoded again"


def test_a_missing_ffmpeg_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SegmentError, match="ffmpeg not found"):
        prepare_segments(tmp_path / "segments", ffmpeg=str(tmp_path / "no-ffmpeg"))


def test_streamlink_reads_the_live_channel_as_mpegts(server: LiveHLSServer) -> None:
    session = Streamlink({"stream-timeout": 10})
    streams = session.streams(server.url("demo_channel"))
    assert {"live", "best"} <= set(streams)
    reader = streams["best"].open()
    try:
        data = b""
        while len(data) < 200 * TS_PACKET:
            chunk = reader.read(8192)
            assert chunk, "stream ended early"
            data += chunk
    finally:
        reader.close()
    assert_mpegts(data[: len(data) // TS_PACKET * TS_PACKET])


def test_the_media_sequence_follows_the_clock(server: LiveHLSServer) -> None:
    first = media_sequence(server)
    time.sleep(1.1 * SEGMENT_SECONDS / SPEED)
    assert media_sequence(server) > first


def test_an_unknown_channel_has_no_streams(server: LiveHLSServer) -> None:
    with pytest.raises(PluginError, match="404"):
        Streamlink().streams(server.url("nobody_here"))


def test_a_channel_can_go_offline_and_come_back(server: LiveHLSServer) -> None:
    playlist = http_url(server, "/live/demo_channel/index.m3u8")
    assert requests.get(playlist, timeout=5).status_code == 200
    server.set_online("demo_channel", False)
    assert requests.get(playlist, timeout=5).status_code == 404
    assert requests.get(http_url(server, f"/live/demo_channel/{server.head() - 1}.ts")).status_code == 404
    server.set_online("demo_channel", True)
    assert requests.get(playlist, timeout=5).status_code == 200


def test_it_serves_the_newest_segment_but_not_future_ones(server: LiveHLSServer) -> None:
    head = server.head()
    newest = requests.get(http_url(server, f"/live/demo_channel/{head - 1}.ts"), timeout=5)
    assert newest.status_code == 200 and newest.headers["Content-Type"] == "video/mp2t"
    assert_mpegts(newest.content)
    future = requests.get(http_url(server, f"/live/demo_channel/{head + 5}.ts"), timeout=5)
    assert future.status_code == 404


def test_segments_that_scrolled_far_out_of_the_window_are_gone(segments: list[Path]) -> None:
    now = [0.0]
    server = LiveHLSServer(segments[:3], window=2, clock=lambda: now[0])
    now[0] = 12 * SEGMENT_SECONDS  # twelve segments later
    head = server.head()
    assert head == 14
    assert server.segment(head - 1) == segments[(head - 1) % 3].read_bytes()
    assert server.segment(head - 4) is not None  # just left the playlist: still served
    assert server.segment(head - 5) is None


def test_a_shifted_channel_plays_the_loop_ahead_of_the_others(segments: list[Path]) -> None:
    now = [0.0]
    server = LiveHLSServer(
        segments[:3], channels=("in_step", "ahead"), window=2, clock=lambda: now[0], shifts={"ahead": 4}
    )
    now[0] = 5 * SEGMENT_SECONDS
    newest = server.head() - 1
    assert server.segment(newest, channel="in_step") == segments[newest % 3].read_bytes()
    assert server.segment(newest, channel="ahead") == segments[(newest + 1) % 3].read_bytes()  # 4 ahead = 1 ahead


def test_a_shifted_channel_marks_the_discontinuity_where_its_own_loop_wraps() -> None:
    lines = media_playlist(57, window=5, loop_length=60, duration=2.0, shift=1).splitlines()
    marks = [lines[i + 2] for i, line in enumerate(lines) if line == "#EXT-X-DISCONTINUITY"]
    assert marks == ["59.ts"]  # seq 59 plays file 0
    later = media_playlist(60, window=5, loop_length=60, duration=2.0, shift=1).splitlines()
    assert "#EXT-X-DISCONTINUITY-SEQUENCE:1" in later and "#EXT-X-DISCONTINUITY" not in later


@pytest.mark.parametrize(
    ("first", "wraps_before", "discontinuity_before"),
    [
        pytest.param(0, 0, None, id="start"),
        pytest.param(58, 0, "60.ts", id="about-to-wrap"),
        pytest.param(60, 0, "60.ts", id="wrap-is-first"),
        pytest.param(61, 1, None, id="wrap-scrolled-out"),
        pytest.param(178, 2, "180.ts", id="third-wrap"),
    ],
)
def test_the_playlist_marks_each_loop_as_a_discontinuity(
    first: int, wraps_before: int, discontinuity_before: str | None
) -> None:
    text = media_playlist(first, window=5, loop_length=60, duration=2.0)
    lines = text.splitlines()
    assert lines[:4] == ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2",
                         f"#EXT-X-MEDIA-SEQUENCE:{first}"]  # fmt: skip
    assert f"#EXT-X-DISCONTINUITY-SEQUENCE:{wraps_before}" in lines
    assert [line for line in lines if line.endswith(".ts")] == [f"{first + i}.ts" for i in range(5)]
    marks = [lines[i + 2] for i, line in enumerate(lines) if line == "#EXT-X-DISCONTINUITY"]
    assert marks == ([discontinuity_before] if discontinuity_before else [])


LADDER = (Rung(640, 360, 30, 700), Rung(284, 160, 30, 230))


@pytest.fixture(scope="module")
def renditions(tmp_path_factory) -> dict[Rung, list[Path]]:
    found = prepare_renditions(tmp_path_factory.mktemp("renditions"), LADDER)
    return {rung: found[rung.name] for rung in LADDER}


def test_renditions_share_their_segment_boundaries_and_timestamps(renditions) -> None:
    def start_and_duration(path: Path) -> tuple[str, ...]:
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=start_time,duration", "-of", "csv=p=0", str(path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return tuple(probe.stdout.split(","))

    big, small = renditions.values()
    assert len(big) == len(small) == 60
    for n in (0, 7, 59):
        assert start_and_duration(big[n]) == start_and_duration(small[n])
    sizes = [
        subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of",
             "csv=p=0", str(files[0])], capture_output=True, text=True, check=True,
        ).stdout.split()[0]  # ffprobe repeats a program's streams
        for files in renditions.values()
    ]  # fmt: skip
    assert sizes == ["640,360", "284,160"]


def test_a_multi_variant_channel_offers_every_rendition_by_resolution_to_streamlink(renditions) -> None:
    server = LiveHLSServer(renditions, window=window_for(SPEED), speed=SPEED)
    server.start()
    try:
        streams = Streamlink({"stream-timeout": 10}).streams(server.url("demo_channel"))
        assert {"360p", "160p", "best", "worst"} <= set(streams)
        assert streams["best"].url.endswith("/360p/index.m3u8") and streams["worst"].url.endswith("/160p/index.m3u8")
        announced = {p.uri.rsplit("/", 2)[1]: p.stream_info.resolution for p in streams["best"].multivariant.playlists}
        assert {k: (v.width, v.height) for k, v in announced.items()} == {"360p": (640, 360), "160p": (284, 160)}
        reader = streams["160p"].open()
        try:
            data = reader.read(64 * 1024)
        finally:
            reader.close()
        assert_mpegts(data[: len(data) - len(data) % TS_PACKET])
        assert requests.get(http_url(server, "/live/demo_channel/999p/index.m3u8"), timeout=5).status_code == 404
    finally:
        server.stop()
