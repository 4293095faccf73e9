"""The shipped scorer reads every stream against itself, so what it picks cannot hinge on scale.

Real material: the demo channel's two real Twitch clips, looping, against the real #xqcow chat
log, scored segment by segment through `score_window` and picked by the one selector, as a live
job does.
"""

from itertools import cycle
from pathlib import Path

import pytest

from metamodel import load_metamodel
from metamodel.selection import select
from server import media
from server.analyze import windows
from server.chat.logs import read_chat_file
from server.features import SegmentFeaturizer
from server.features.audio_tags import DEFAULT_CLASSES, PREFIX
from server.scoring import reaction_window, score_window

MEDIA = Path(__file__).resolve().parents[2] / "server" / "demo" / "media"
SEGMENTS = 30  # five minutes of the 7.7-minute chat log


@pytest.fixture(scope="module")
def stream():
    """(clip, start, duration, messages, events) of each segment of the looping demo stream."""
    clips = [MEDIA / "seed-lobby.mp4", MEDIA / "seed-gameplay.mp4"]
    spans = [(clip, start, end - start) for clip in clips for _, start, end in windows(media.duration_of(clip))]
    log = read_chat_file(MEDIA / "xqcow-2019-09-15.irc.gz")
    rows = []
    for i, (clip, start, length) in zip(range(SEGMENTS), cycle(spans)):
        lo, hi = reaction_window(log.video_start + 10.0 * i)
        rows.append(
            (
                clip,
                start,
                length,
                [m for m in log.messages if lo <= m.ts < hi],
                [e for e in log.events if lo <= e.ts < hi],
            )
        )
    return rows


def run(stream, tags=None, chat_copies=1):
    """Scores and highlights of the stream; `tags(segment) -> value` stands in for the tagger."""
    model = load_metamodel()
    featurizer = SegmentFeaturizer()
    if tags is not None:
        featurizer.audio_tags = lambda samples, rate, candidate, reference=False: {
            PREFIX + c: tags() for c in DEFAULT_CLASSES
        }
    scores = []
    for seq, (clip, start, length, messages, events) in enumerate(stream):
        scored = score_window(featurizer, model, clip, messages * chat_copies, events, start, length)
        scores.append((seq, scored.score))
    # A budget high enough to pick several moments from these 40 segments.
    return [s for _, s in scores], select(scores, per_hour=60)


@pytest.fixture(scope="module")
def tags_off(stream):
    return run(stream, tags=lambda: None)


def test_the_demo_stream_gets_highlights(tags_off):
    assert tags_off[1], "the comparisons below compare something"


def test_a_tagger_whose_outputs_are_all_zero_picks_the_same_highlights_with_the_same_scores(stream, tags_off):
    scores, highlights = run(stream, tags=lambda: 0.0)
    assert highlights == tags_off[1]
    assert scores == pytest.approx(tags_off[0], abs=1e-9)


def test_a_tagger_that_always_says_the_same_moves_nothing_either(stream, tags_off):
    assert run(stream, tags=lambda: 0.37)[1] == tags_off[1]


def test_a_chat_three_times_as_busy_with_the_same_shape_picks_the_same_highlights(stream, tags_off):
    # Absolute counts must not decide: a big channel and a small one read alike.
    scores, highlights = run(stream, tags=lambda: None, chat_copies=3)
    assert highlights == tags_off[1]
    assert scores == pytest.approx(tags_off[0], abs=1e-9)
