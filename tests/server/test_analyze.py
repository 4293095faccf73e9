"""`python -m server.analyze` on real recordings."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Not `from conftest import ...`: tests/server/ has a conftest.py of its own that would shadow it.
ROOT = Path(__file__).resolve().parents[2]
CHAT_LOG = ROOT / "server" / "demo" / "media" / "xqcow-2019-09-15.irc.gz"

MEDIA = ROOT / "server" / "demo" / "media"


def analyze(*args):
    done = subprocess.run(
        [sys.executable, "-m", "server.analyze", *map(str, args), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    return done


def segments_of(done):
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return lines[:-1], lines[-1]["highlights"]


@pytest.fixture(scope="module")
def gameplay():
    return segments_of(analyze(MEDIA / "seed-gameplay.mp4", "--chat", CHAT_LOG))


@pytest.fixture(scope="module")
def lobby():
    return segments_of(analyze(MEDIA / "seed-lobby.mp4"))


def mean(segments, feature):
    return sum(s["features"][feature] for s in segments) / len(segments)


def test_a_minute_of_video_is_six_scored_segments(gameplay):
    segments, _ = gameplay
    assert [(s["start"], s["end"]) for s in segments] == [(t, t + 10) for t in range(0, 60, 10)]
    assert all(0 <= s["score"] <= 1 for s in segments)


def test_gameplay_has_far_more_motion_than_a_lobby(gameplay, lobby):
    assert mean(gameplay[0], "motion_mean") > 5 * mean(lobby[0], "motion_mean")


def test_chat_from_the_log_is_counted_per_segment(gameplay, lobby):
    assert mean(gameplay[0], "chat_messages") > 20  # the real log has ~10 messages a second
    assert lobby[0][0]["features"]["chat_messages"] is None  # no log given: chat is missing, not zero


def test_a_file_that_is_not_media_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    done = analyze(bad)
    assert done.returncode == 1
    assert "error:" in done.stderr  # after any warnings (e.g. audio tagging off)


def test_a_missing_file_is_a_usage_error(tmp_path):
    done = analyze(tmp_path / "nope.mp4")
    assert done.returncode == 2 and "no such file" in done.stderr


def test_chat_sentiment_hype_and_copypasta_come_from_the_log(gameplay):
    segments, _ = gameplay
    features = [s["features"] for s in segments]
    # xqcow's chat that minute: POGGERS and LULW outweigh PepeHands and monkaW, but both occur.
    assert sum(f["chat_positive"] for f in features) > sum(f["chat_negative"] for f in features) > 0
    assert all(0 <= f["chat_copypasta"] <= 20 and f["chat_hype"] >= 0 for f in features)
    # The one cheer of that minute (70 bits, 17.7 s in) is 70/500 of a sub; no subs yet: floor 1.
    # It counts for the two segments whose reaction windows (4-24 s after each start) hold it; the
    # last segment's window (54-74 s) reaches the log's first sub, one point.
    assert [f["chat_hype"] for f in features] == [pytest.approx(70 / 500), pytest.approx(70 / 500), 0, 0, 0, 1.0]


def test_it_reads_twitchdownloader_json(tmp_path):
    comments = [
        {
            "_id": f"c{i}",
            "content_offset_seconds": 4.5 + i * 0.25,
            "commenter": {"name": f"viewer{i % 7}"},
            "message": {
                "body": "POGGERS Kappa",
                "fragments": [
                    {"text": "POGGERS ", "emoticon": None},
                    {"text": "Kappa", "emoticon": {"emoticon_id": "25"}},
                ],
            },
        }
        for i in range(30)
    ]
    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps({"video": {"start": 0}, "comments": comments}))
    done = analyze(MEDIA / "seed-gameplay.mp4", "--chat", chat)
    assert done.returncode == 0, done.stderr
    first = segments_of(done)[0][0]["features"]
    assert (first["chat_messages"], first["chat_users"], first["chat_emotes"]) == (30, 7, 30)
    assert first["chat_positive"] == 1.0  # every message positive, in units of this (first) segment's count


def test_a_chat_file_of_neither_format_is_a_clear_error(tmp_path):
    bad = tmp_path / "chat.json"
    bad.write_text('{"not": "comments"}')
    done = analyze(MEDIA / "seed-lobby.mp4", "--chat", bad)
    assert done.returncode == 1
    assert "TwitchDownloader" in done.stderr


def test_a_chat_log_alone_is_scored_over_its_span_with_audio_and_motion_missing():
    done = analyze("--chat", CHAT_LOG)
    assert done.returncode == 0, done.stderr
    segments, highlights = segments_of(done)
    assert len(segments) == 47  # 7.7 minutes of chat in 10 s steps
    assert all(s["features"]["audio_loudness"] is None and s["features"]["motion_mean"] is None for s in segments)
    assert highlights, "the budget's warm-up picks the stream's first standout moment"
    # With chat alone, the shipped model ranks segments exactly as the chat reaction does.
    ranked = sorted(segments, key=lambda s: s["score"])
    assert [s["features"]["rank:chat_messages"] for s in ranked] == sorted(
        s["features"]["rank:chat_messages"] for s in segments
    )


def test_without_video_or_chat_there_is_nothing_to_analyze():
    done = analyze()
    assert done.returncode == 2 and "give VIDEO, --chat LOG, or both" in done.stderr
