"""Scoring a segment and saying why in words."""

import pytest

from metamodel import Metamodel
from server.scoring import describe, score_segment

MODEL = Metamodel(
    ["chat_rate_ratio", "motion_ratio", "audio_peak"], [1.0, 1.0, 0.3], [1.0, 1.0, 0.2], [1.0, 0.5, 0.8], -2.0, 0.5
)


def test_reasons_are_the_features_that_pushed_the_score_up_most_first():
    score, reasons = score_segment(MODEL, {"chat_rate_ratio": 4.2, "motion_ratio": 3.0, "audio_peak": 0.1})
    assert [r.feature for r in reasons] == ["chat_rate_ratio", "motion_ratio"]  # audio pulled it down
    assert reasons[0].text == "chat 4.2x its usual rate"
    assert score == pytest.approx(MODEL.score({"chat_rate_ratio": 4.2, "motion_ratio": 3.0, "audio_peak": 0.1}))


def test_missing_features_are_never_given_as_reasons():
    _, reasons = score_segment(MODEL, {"chat_rate_ratio": None, "motion_ratio": 3.0, "audio_peak": None})
    assert [r.feature for r in reasons] == ["motion_ratio"]


@pytest.mark.parametrize(
    "feature, value, text",
    [
        pytest.param("motion_ratio", 3.0, "motion 3.0x its usual", id="motion-ratio"),
        pytest.param("audio_loudness", -12.4, "loud audio (-12 LUFS)", id="loudness"),
        pytest.param("audio_tag:Laughter", 0.62, "sounds like Laughter (62%)", id="audio-tag"),
        pytest.param("chat_emotes", 31, "31 emotes in chat", id="emotes"),
        pytest.param("chat_positive", 1.43, "positive chat 1.4x the usual message rate", id="chat-positive"),
        pytest.param("chat_hype", 12.0, "subs, raids and bits 12.0x usual", id="chat-hype"),
    ],
)
def test_each_feature_reads_as_a_phrase(feature, value, text):
    assert describe(feature, value) == text
