"""Highlight selection: threshold, merged runs, lead-in, cooldown, long runs."""

from server.selection import Highlight, HighlightSelector


def run(scores, **kwargs):
    selector = HighlightSelector(threshold=0.5, **kwargs)
    found = [h for seq, score in enumerate(scores) if (h := selector.push(seq, score))]
    last = selector.flush()
    return found + ([last] if last else [])


def test_nothing_below_the_threshold_is_a_highlight():
    assert run([0.1, 0.2, 0.49, 0.3]) == []


def test_adjacent_good_segments_merge_into_one_clip_with_a_segment_of_lead_in():
    assert run([0.1, 0.1, 0.6, 0.9, 0.7, 0.1]) == [Highlight(first_seq=1, last_seq=4, peak_seq=3, score=0.9)]


def test_the_lead_in_never_goes_before_the_first_segment():
    assert run([0.8, 0.1])[0].first_seq == 0


def test_a_highlight_right_after_another_is_held_back_by_the_cooldown():
    found = run([0.9, 0.1, 0.9, 0.1, 0.1, 0.1, 0.9, 0.1], cooldown=3)
    assert [h.peak_seq for h in found] == [0, 6]


def test_a_run_longer_than_the_maximum_is_reported_without_waiting_for_its_end():
    selector = HighlightSelector(threshold=0.5, max_segments=3)
    results = [selector.push(seq, 0.9) for seq in range(3)]
    assert results[:2] == [None, None] and results[2] == Highlight(0, 2, 0, 0.9)


def test_a_gap_in_sequence_numbers_closes_the_run():
    selector = HighlightSelector(threshold=0.5, cooldown=0)
    selector.push(0, 0.9)
    closed = selector.push(5, 0.9)
    assert closed is not None and closed.last_seq == 0
