"""Live ingest decodes the analysed rendition once, as it arrives (issue 12): each segment reaches
the scorer with its audio and frames, the same ones decoding its file would give, and no ffmpeg
is started per segment to decode it again."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from live_ingest import ingesting
from waiting import wait_for

from server import live_decode, media
from server.demo.hls_server import LiveHLSServer
from server.demo.segments import Rung, prepare_renditions
from server.features import SegmentFeaturizer
from server.ingest import LiveSegmenter
from server.live_decode import LiveDecoder

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")

LADDER = (Rung(640, 360, 30, 700), Rung(284, 160, 30, 230))


def decode_with(decoder: LiveDecoder, source: Path) -> None:
    """Run an ffmpeg over `source` writing only the decode outputs, draining them as ingest does."""
    args = ["ffmpeg", "-nostdin", "-v", "error", *media.CHEAP_DECODE, "-i", str(source), *decoder.output_args()]
    process = subprocess.Popen(args, pass_fds=decoder.child_fds())
    decoder.started()
    while process.poll() is None:
        decoder.poll()
        try:
            process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            pass
    decoder.poll()
    assert process.returncode == 0


def shifted_difference(frames: np.ndarray, others: np.ndarray, shift: int) -> float:
    """Mean grey-level difference of `frames` against `others` moved `shift` frames later."""
    n = min(len(frames), len(others)) - 2
    return float(np.abs(frames[1 : 1 + n].astype(float) - others[1 + shift : 1 + shift + n].astype(float)).mean())


def make_ts(path: Path, *inputs: str) -> Path:
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-c:a", "aac", "-f", "mpegts"]
    subprocess.run(["ffmpeg", "-v", "error", "-y", *inputs, *encode, str(path)], check=True)
    return path


VIDEO = ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=6"]
AUDIO = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=6"]


def test_a_stretch_of_the_continuous_decode_is_that_moment_at_the_scorers_rates(tmp_path):
    source = make_ts(tmp_path / "both.ts", *VIDEO, *AUDIO)
    decoder = LiveDecoder.for_kinds(media.stream_kinds(source.read_bytes()[:4096]))
    assert decoder is not None and decoder.has_audio and decoder.has_video
    try:
        decode_with(decoder, source)
        first = decoder.take(0.0, 2.0)
        second = decoder.take(2.0, 4.5)
    finally:
        decoder.close()
    for (samples, frames), seconds in ((first, 2.0), (second, 2.5)):
        assert samples is not None and frames is not None
        assert len(samples) == round(seconds * media.AUDIO_RATE)
        assert frames.shape == (round(seconds * media.MOTION_FPS), media.MOTION_SIZE[1], media.MOTION_SIZE[0])
    # Frame i is the moment i / MOTION_FPS: the file decoded whole agrees at the same index and
    # disagrees a frame either way (the test picture moves). The sampled source frame may differ
    # by one (1/30 s) with the timestamps rounded another way.
    whole = media.decode_grey_frames(source).astype(float)
    live = second[1].astype(float)

    def difference(shift: int) -> float:
        return float(np.abs(live[1:-1] - whole[20 + 1 + shift : 45 - 1 + shift]).mean())

    assert difference(0) < 0.6 * min(difference(-1), difference(1))


def test_a_source_without_audio_gets_frames_and_no_samples(tmp_path):
    source = make_ts(tmp_path / "video.ts", *VIDEO)
    kinds = media.stream_kinds(source.read_bytes()[:4096])
    assert kinds == {"video"}
    decoder = LiveDecoder.for_kinds(kinds)
    assert decoder is not None
    try:
        decode_with(decoder, source)
        samples, frames = decoder.take(0.0, 2.0)
    finally:
        decoder.close()
    assert samples is None and frames is not None and len(frames) == 20


def test_bytes_that_are_no_media_give_no_decoder():
    assert media.stream_kinds(b"<html>not a stream</html>" * 100) == set()
    assert LiveDecoder.for_kinds(set()) is None


@pytest.fixture(scope="module")
def ladder_segments(tmp_path_factory):
    found = prepare_renditions(tmp_path_factory.mktemp("ladder"), LADDER)
    return {rung: found[rung.name] for rung in LADDER}


@pytest.mark.timeout(120)
def test_live_segments_arrive_decoded_and_score_as_their_files_do(ladder_segments, tmp_path, monkeypatch):
    # Pipes far smaller than a segment's decoded audio: ingest must drain them while it waits for
    # a segment to close, or ffmpeg stops cutting.
    monkeypatch.setattr(live_decode, "PIPE_BYTES", 64 * 1024)
    server = LiveHLSServer(ladder_segments, channels=("demo_channel",))
    server.start()
    segmenter = LiveSegmenter(
        server.url("demo_channel"), tmp_path / "ring", 4.0, 60, 10.0, [f"127.0.0.1:{server.port}"]
    )
    try:
        with ingesting(segmenter) as segments:
            assert wait_for(lambda: len(segments) >= 3, timeout=60), "segments are cut"
    finally:
        server.stop()
    for segment in segments[:3]:
        assert segment.decoded is not None, "decoded by the cutting ffmpeg"
        samples, frames = segment.decoded
        file_samples, file_frames = media.decode_segment(segment.path)
        assert samples is not None and frames is not None and file_samples is not None and file_frames is not None
        # The continuous decode covers the segment's span exactly; its file's audio may stop a few
        # AAC frames short, where the cut at a video keyframe fell between audio packets.
        assert len(samples) == round(segment.duration * media.AUDIO_RATE)
        assert len(frames) == round(segment.duration * media.MOTION_FPS)
        assert abs(len(frames) - len(file_frames)) <= 1
        assert abs(len(samples) - len(file_samples)) <= 0.1 * media.AUDIO_RATE
        # The same frames; the file's may start one later: its audio can begin before its first
        # video frame (packets interleaved across the cut), and its clock starts at the earlier.
        assert min(shifted_difference(frames, file_frames, s) for s in (0, 1)) < 0.5, "the same frames"
        live = SegmentFeaturizer().featurize(None, None, decoded=segment.decoded)
        from_file = SegmentFeaturizer().featurize(segment.path, None)
        for name in ("audio_loudness", "audio_peak", "motion_mean"):
            assert live[name] == pytest.approx(from_file[name], rel=0.05, abs=0.2), name
