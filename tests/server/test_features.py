"""Segment features: audio level and loudness, motion, chat counts, rolling baselines."""

from dataclasses import dataclass, field

import numpy as np
import pytest

from server.features.audio import SILENCE_LUFS, audio_features
from server.features.baseline import RollingBaseline
from server.features.chat import chat_features
from server.features.motion import motion_features

RATE = 48000


def test_silence_has_no_peak_and_the_gate_loudness():
    assert audio_features(np.zeros(RATE * 2, np.float32), RATE) == {"audio_peak": 0.0, "audio_loudness": SILENCE_LUFS}


def test_a_louder_tone_has_a_higher_peak_and_loudness():
    t = np.arange(RATE * 3) / RATE
    quiet = audio_features((0.05 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), RATE)
    loud = audio_features((0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), RATE)
    assert loud["audio_peak"] == pytest.approx(0.5, abs=1e-3)
    assert loud["audio_loudness"] - quiet["audio_loudness"] == pytest.approx(20.0, abs=0.5)  # 10x amplitude = 20 dB


def test_a_full_scale_1khz_sine_is_about_minus_3_lufs():
    t = np.arange(RATE * 3) / RATE
    assert audio_features(np.sin(2 * np.pi * 1000 * t).astype(np.float32), RATE)["audio_loudness"] == pytest.approx(
        -3.0, abs=0.5
    )


def test_still_frames_have_no_motion_and_noise_has_a_lot():
    still = np.full((20, 90, 160), 128, np.uint8)
    noise = np.random.default_rng(0).integers(0, 256, (20, 90, 160), dtype=np.uint8)
    assert motion_features(still) == {"motion_mean": 0.0, "motion_p95": 0.0, "scene_cuts": 0.0}
    assert motion_features(noise)["motion_mean"] > 0.2


def test_a_hard_cut_from_dark_to_bright_counts_as_a_scene_cut():
    frames = np.concatenate([np.full((5, 90, 160), 20, np.uint8), np.full((5, 90, 160), 230, np.uint8)])
    assert motion_features(frames)["scene_cuts"] == 1.0


def test_a_single_frame_has_no_motion():
    assert motion_features(np.zeros((1, 90, 160), np.uint8))["motion_mean"] == 0.0


@dataclass
class Msg:
    user: str
    emotes: list = field(default_factory=list)


def test_chat_counts_messages_distinct_users_and_emotes():
    messages = [Msg("a", ["Kappa"]), Msg("a", ["PogChamp", "PogChamp"]), Msg("b")]
    assert chat_features(messages) == {"chat_messages": 3.0, "chat_users": 2.0, "chat_emotes": 3.0}


def test_the_rolling_baseline_compares_with_the_median_of_recent_values():
    baseline = RollingBaseline(window=3, floor=1.0)
    assert baseline.ratio(10) == 1.0  # no history yet
    assert baseline.ratio(10) == 1.0
    assert baseline.ratio(40) == 4.0
    assert baseline.ratio(0) == 0.0


def test_the_rolling_baseline_caps_a_burst_after_silence():
    baseline = RollingBaseline(window=5, floor=1.0, cap=20.0)
    baseline.ratio(0)
    assert baseline.ratio(500) == 20.0
