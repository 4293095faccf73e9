"""The one backoff rule: doubling from `initial` to `maximum`, back to `initial` after a success."""

from __future__ import annotations

import random

import pytest

from backoff import Backoff, backoff_delays, next_delay


def test_delays_double_up_to_the_cap_and_stay_there():
    delays = backoff_delays(1.0, 60.0)
    assert [next(delays) for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_success_starts_the_doubling_again():
    backoff = Backoff(5.0, 60.0)
    assert [backoff.next() for _ in range(3)] == [5, 10, 20]
    backoff.reset()
    assert backoff.next() == 5


def test_jitter_spreads_each_delay_within_its_fraction_and_not_beyond():
    delays = backoff_delays(1.0, 60.0, jitter=0.2, rng=random.Random(7))
    got = [next(delays) for _ in range(200)]
    bases = [1, 2, 4, 8, 16, 32] + [60] * 194
    assert all(0.8 * base <= delay <= 1.2 * base for delay, base in zip(got, bases, strict=True))
    assert len({round(d / b, 6) for d, b in zip(got, bases, strict=True)}) > 100  # really spread, not constant


def test_a_minimum_above_the_maximum_waits_the_maximum():
    assert [next(backoff_delays(20.0, 10.0)) for _ in range(2)] == [10, 10]


@pytest.mark.parametrize("initial, maximum, jitter", [(0, 10, 0), (1, 0, 0), (1, 10, 1.0), (1, 10, -0.1)])
def test_nonsense_settings_are_refused(initial, maximum, jitter):
    with pytest.raises(ValueError):
        Backoff(initial, maximum, jitter)


def test_next_delay_is_the_same_rule_for_callers_that_keep_the_last_delay_themselves():
    assert next_delay(None, 1.0, 60.0) == 1.0
    assert next_delay(0.0, 1.0, 60.0) == 1.0
    assert next_delay(8.0, 1.0, 60.0) == 16.0
    assert next_delay(40.0, 1.0, 60.0) == 60.0
    previous, loop = None, Backoff(1.0, 60.0)
    for _ in range(10):
        previous = next_delay(previous, 1.0, 60.0)
        assert previous == loop.next()
