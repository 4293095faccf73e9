"""Stream-relative features: Gaussian ranks against the stream's own last hour."""

import numpy as np
import pytest

from metamodel.ranks import StreamRanks, gaussian_rank, quantile_of


def ranks_of(values, window=360):
    ranks = StreamRanks(["x"], window)
    return [ranks.rank({"x": v})["rank:x"] for v in values]


def test_the_first_value_of_a_stream_is_neutral():
    assert ranks_of([123.0]) == [0.0]


def test_a_big_chat_and_a_small_chat_with_the_same_shape_read_alike():
    rng = np.random.default_rng(0)
    shape = rng.gamma(2.0, 1.0, 200)
    assert ranks_of(list(shape * 5)) == pytest.approx(ranks_of(list(shape * 5000)))


def test_a_constant_feature_stays_at_zero_so_it_can_never_move_a_score():
    assert set(ranks_of([0.0] * 50)) == {0.0}


def test_a_missing_value_is_none_and_does_not_enter_the_history():
    ranks = StreamRanks(["x"])
    ranks.rank({"x": 1.0})
    assert ranks.rank({"x": None}) == {"rank:x": None}
    assert ranks.rank({"x": 2.0})["rank:x"] == pytest.approx(gaussian_rank(np.array([1.0]), 2.0))


def test_a_long_hot_stretch_stays_hot_within_the_hour():
    # Forty minutes at 10 messages, then ten minutes at 40: the end of the stretch still ranks high
    # (a 5-minute rolling median would call 40 "usual" by then).
    values = [10.0] * 240 + [40.0] * 60
    assert ranks_of(values)[-1] > 0.5


def test_ranks_are_bounded_by_how_much_history_there_is():
    assert max(ranks_of(list(range(10)))) < 1.7  # (9 + 0.5) / 10 -> z 1.64
    assert max(ranks_of(list(range(400)))) == pytest.approx(2.99, abs=0.01)


def test_audio_tags_present_in_a_segment_are_ranked_too():
    ranks = StreamRanks(["x"])
    assert set(ranks.rank({"x": 1.0, "audio_tag:Laughter": 0.3})) == {"rank:x", "rank:audio_tag:Laughter"}


def test_a_rank_reads_back_as_the_share_of_the_stream_below_it():
    assert quantile_of(gaussian_rank(np.arange(99.0), 98.5)) == pytest.approx(0.995)  # 99 below, itself half
