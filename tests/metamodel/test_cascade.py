"""The audio-tag cascade: tags are computed only where they could still make a highlight."""

from __future__ import annotations

import math

import pytest

from bench.cascade import compare
from metamodel import Metamodel
from metamodel.cascade import best_case, bounds_of, worth_computing
from metamodel.ranks import RANK_BOUND


def is_tag(name: str) -> bool:
    return "audio_tag:" in name


def logit(p: float) -> float:
    return math.log(p / (1 - p))


MODEL = Metamodel(
    ["rank:chat_messages", "rank:audio_tag:Cheering", "rank:audio_tag:Music"], [0.0] * 3, [1.0] * 3,
    [1.0, 0.5, -0.3], -2.0, 6.0,
)  # fmt: skip


def test_ranks_and_probabilities_have_known_ranges_and_other_features_do_not():
    assert bounds_of("rank:audio_tag:Crowd") == (-RANK_BOUND, RANK_BOUND)
    assert 2.9 < RANK_BOUND < 3.1, "a full hour of history bounds a Gaussian rank near 3"
    assert bounds_of("audio_tag:Crowd") == (0.0, 1.0)
    assert bounds_of("chat_messages") is None


def test_the_best_case_adds_each_pending_features_best_term_over_its_range():
    best = best_case(MODEL, {"rank:chat_messages": 1.0}, is_tag)
    # -2 + 1.0 (chat) + 0.5 x RANK_BOUND (Cheering at its top) + 0.3 x RANK_BOUND (Music at its bottom)
    assert logit(best) == pytest.approx(-1.0 + 0.8 * RANK_BOUND)
    negative_only = Metamodel(["rank:audio_tag:Music"], [0.0], [1.0], [-0.3], -2.0, 6.0)
    assert logit(best_case(negative_only, {}, is_tag)) == pytest.approx(-2.0 + 0.3 * RANK_BOUND)


def test_a_pending_feature_without_a_known_range_makes_anything_possible():
    model = Metamodel(["chat_messages", "audio_loudness"], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0], -5.0, 6.0)
    assert best_case(model, {"chat_messages": 0.0}, lambda name: name == "audio_loudness") == 1.0


@pytest.mark.parametrize(
    "chat, bar, worth",
    [
        pytest.param(1.0, 0.75, True, id="tags-could-lift-it"),  # best case sigmoid(-1 + 0.8 x 3.0) = 0.80
        pytest.param(-2.0, 0.5, False, id="even-the-best-tags-leave-it-under-the-bar"),
        pytest.param(-2.0, None, True, id="no-bar-while-warming-up"),
    ],
)
def test_worth_computing_compares_the_best_case_with_the_bar(chat, bar, worth):
    assert worth_computing(MODEL, {"rank:chat_messages": chat}, is_tag, bar) is worth


def test_on_long_simulated_streams_the_cascade_tags_a_fraction_and_finds_as_many_moments():
    results = [compare(hours=4.0, seed=seed, per_hour=6.0) for seed in range(4)]
    segments, tagged = sum(r["segments"] for r in results), sum(r["tagged"] for r in results)
    assert tagged < 0.3 * segments, "the tagger's work drops by more than two thirds"
    highlights, kept = sum(r["highlights"] for r in results), sum(r["kept"] for r in results)
    assert kept >= 0.8 * highlights, "most highlights are the very same segments"
    true_full, true_gated = sum(r["true_full"] for r in results), sum(r["true_gated"] for r in results)
    assert true_gated >= 0.95 * true_full, "and as many picks land on the simulated moments"
