"""Highlight selection: a budget per hour against the stream's own scores, runs, lead-in, cooldown."""

import math

import numpy as np
import pytest

from metamodel.selection import HighlightSelector, bar_for, select, validate_per_hour

SEG = 10.0


def pairs(scores):
    return list(enumerate(scores))


def quiet(n, seed=0):
    """n ordinary segments: scores that drift down a little, so none ever stands out."""
    start = 0.20 - 0.01 * seed
    return list(np.linspace(start, start - 0.05, n))


def test_nothing_is_picked_in_the_first_minute_while_there_is_no_history():
    assert select(pairs([0.1, 0.9, 0.1, 0.9, 0.1, 0.1])) == []


def test_a_new_stream_is_not_silent_a_new_record_after_the_first_minute_is_a_highlight():
    found = select(pairs(quiet(8) + [0.9] + quiet(3, seed=1)))
    assert [h.peak_seq for h in found] == [8]


def test_adjacent_good_segments_merge_into_one_clip_with_a_segment_of_lead_in():
    found = select(pairs(quiet(8) + [0.8, 0.9, 0.85] + quiet(3, seed=1)))
    assert len(found) == 1
    assert (found[0].first_seq, found[0].last_seq, found[0].peak_seq) == (7, 10, 9)


def test_a_long_stream_gets_about_its_budget_of_highlights_per_hour():
    rng = np.random.default_rng(3)
    scores = rng.uniform(0, 1, 360 * 4)  # four hours of noise: no moment is special
    for per_hour in (6, 20):  # "about": the cooldown and the burst cap cost a few
        count = len(select(pairs(scores), per_hour))
        assert 0.6 * per_hour * 4 <= count <= 1.2 * per_hour * 4, (per_hour, count)


def test_a_hot_ten_minutes_cannot_spend_more_than_the_budget_allows():
    # An hour of calm, then ten minutes in which every other segment beats everything before.
    calm = quiet(360)
    hot = [1.0 + i * 0.01 if i % 2 == 0 else 0.15 for i in range(60)]
    found = select(pairs(calm + hot), per_hour=6)
    in_hot = [h for h in found if h.peak_seq >= 360]
    assert 1 <= len(in_hot) <= 3  # the bucket holds 20 minutes' worth (2) plus what the 10 minutes earn (1)


def test_a_higher_budget_never_gives_fewer_highlights_on_the_same_scores():
    scores = np.random.default_rng(5).gamma(2.0, 1.0, 720)
    counts = [len(select(pairs(scores), r)) for r in (1, 3, 6, 12, 30)]
    assert counts == sorted(counts)


def test_the_bar_is_the_score_at_which_the_last_hour_holds_the_budget_of_runs():
    history = np.array([0.1, 0.9, 0.1, 0.8, 0.8, 0.1, 0.7, 0.1] * 45)  # 360 segments, one hour
    # Runs at >= 0.9: 45; at 6 per hour the bar must be the top value.
    assert bar_for(history, per_hour=6) == 0.9
    # 90 per hour would need every run of >= 0.7 (135 runs) or >= 0.8 (90 runs): 0.8.
    assert bar_for(history, per_hour=90) == 0.8


def test_a_highlight_right_after_another_is_held_back_by_the_cooldown():
    selector = HighlightSelector(per_hour=60, cooldown=3)
    for seq, score in enumerate(quiet(8)):
        selector.push(seq, score)
    found = [
        h
        for seq, s in [(8, 0.9), (9, 0.1), (10, 0.95), (11, 0.1), (12, 0.1), (13, 0.1), (14, 0.99), (15, 0.1)]
        if (h := selector.push(seq, s))
    ]
    assert [h.peak_seq for h in found] == [8, 14]


def test_a_run_longer_than_the_maximum_is_reported_without_waiting_for_its_end():
    selector = HighlightSelector(per_hour=60, max_segments=3)
    for seq, score in enumerate(quiet(8)):
        selector.push(seq, score)
    results = [selector.push(seq, 0.9 + seq / 100) for seq in range(8, 11)]
    assert results[:2] == [None, None] and (results[2].first_seq, results[2].last_seq) == (7, 10)


def test_a_gap_in_sequence_numbers_closes_the_run():
    selector = HighlightSelector(per_hour=60, cooldown=0)
    for seq, score in enumerate(quiet(8)):
        selector.push(seq, score)
    selector.push(8, 0.9)
    closed = selector.push(20, 0.95)
    assert closed is not None and closed.last_seq == 8


def test_the_live_selector_and_the_batch_count_agree():
    scores = np.random.default_rng(7).gamma(2.0, 1.0, 500)
    selector = HighlightSelector(per_hour=6)
    live = [h for seq, s in pairs(scores) if (h := selector.push(seq, s))]
    live += [h] if (h := selector.flush()) else []
    assert live == select(pairs(scores), 6)


@pytest.mark.parametrize("raw", [0.0, -1, 61, "6", True, None, float("nan")])
def test_a_budget_outside_half_to_sixty_per_hour_is_refused_in_words(raw):
    with pytest.raises(ValueError, match="highlights per hour must be a number from 0.5 to 60"):
        validate_per_hour(raw)


# The demo channel's first five minutes as the end-to-end test recorded them (rounded): a peak in
# its second minute, while the ranks had little history, then nothing as high.
DEMO_FIRST_FIVE_MINUTES = [
    0.119,
    0.151,
    0.389,
    0.379,
    0.338,
    0.301,
    0.075,
    0.061,
    0.079,
    0.102,
    0.169,
    0.222,
    0.113,
    0.076,
    0.172,
    0.349,
    0.266,
    0.077,
    0.029,
    0.042,
    0.1,
    0.087,
    0.124,
    0.162,
    0.09,
    0.069,
    0.198,
    0.316,
    0.31,
]


def test_an_early_peak_does_not_silence_a_young_stream():
    found = select(pairs(DEMO_FIRST_FIVE_MINUTES))
    assert found and found[0].peak_seq == 15  # the best moment after it, not an ordinary one


def test_a_flat_stream_has_no_highlights():
    assert select(pairs([0.3] * 720)) == []


def test_the_bar_never_sits_below_the_streams_upper_quartile():
    history = np.array([0.9, 0.8, 0.7, 0.6, 0.1, 0.15, 0.05])  # moments 0.9 and 0.15: a budget of 3 would take 0.15
    assert bar_for(history, per_hour=6) == pytest.approx(np.quantile(history, 0.75))


def test_bar_for_says_what_the_next_segment_must_score_and_infinity_when_nothing_can_open():
    selector = HighlightSelector(per_hour=6.0)
    assert selector.bar_for(0) == math.inf, "warming up: no highlight in the first minute"
    for seq in range(30):
        selector.push(seq, 0.1)  # a flat stream: nothing passes, the token is kept
    bar = selector.bar_for(30)
    assert bar == 0.1
    assert selector.push(30, 0.99) is None and selector._run, "it opened a run at that bar"
    assert selector.bar_for(31) == bar, "a run goes on at the bar it opened at"
    assert selector.push(31, 0.0) is not None, "a low score closes it"
    assert selector.bar_for(32) == math.inf, "cooling down after a highlight"
    for seq in range(32, 36):
        selector.push(seq, 0.1)
    assert selector._tokens < 1.0 and selector.bar_for(36) == math.inf, "no token left to open one"


def test_a_segment_under_bar_for_never_becomes_a_highlight_whatever_else_happens():
    rng = np.random.default_rng(3)
    selector, picked_under = HighlightSelector(per_hour=20.0), 0
    for seq, score in enumerate(rng.random(3000) ** 3):
        bar = selector.bar_for(seq)
        found = selector.push(seq, score)
        in_run = any(s == seq for s, _ in selector._run)
        picked_under += score < bar and (in_run or (found is not None and found.last_seq == seq))
    assert picked_under == 0
