"""Chat features: sentiment counts, hype points, copy-pasta, and their rolling baselines."""

from __future__ import annotations

import pytest

from metamodel.schema import FEATURE_GROUPS
from server.chat.irc import ChatMessage, HypeEvent
from server.chat.sentiment import Sentiment
from server.features import CHAT_FEATURES, SegmentFeaturizer
from server.features.baseline import RollingBaseline
from server.features.chat import copypasta_share, hype_points, spam_key, spread_sample


def msg(text: str, user: str = "alice", emotes: list[str] | None = None) -> ChatMessage:
    return ChatMessage(id=f"{user}-{text}", ts=0.0, user=user, text=text, emotes=emotes or [])


def ev(kind: str, amount: float = 1.0) -> HypeEvent:
    return HypeEvent(id=kind, ts=0.0, kind=kind, amount=amount)


def test_the_featurizer_computes_exactly_the_schemas_chat_group() -> None:
    assert CHAT_FEATURES == FEATURE_GROUPS["chat"]
    assert list(SegmentFeaturizer().chat([msg("hi")])) == CHAT_FEATURES
    assert SegmentFeaturizer().chat(None) == dict.fromkeys(CHAT_FEATURES)


@pytest.mark.parametrize(
    ("events", "points"),
    [
        pytest.param([], 0.0, id="nothing"),
        pytest.param([ev("sub"), ev("resub"), ev("subgift")], 3.0, id="one-point-per-sub"),
        pytest.param([ev("submysterygift", 50)], 50.0, id="gift-bomb-counts-its-size"),
        pytest.param([ev("bits", 1000)], 2.0, id="500-bits-a-point"),
        pytest.param([ev("raid", 1234)], 12.34, id="100-raiders-a-point"),
        pytest.param([ev("raid", 3)], 1.0, id="any-raid-at-least-one"),
    ],
)
def test_hype_points_weigh_subs_bits_and_raids(events: list[HypeEvent], points: float) -> None:
    assert hype_points(events) == pytest.approx(points)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param("LULW LULW LULW", "lulw", id="one-emote-spammed"),
        pytest.param("AIM OMEGALUL AIM OMEGALUL AIM OMEGALUL", "aim omegalul", id="two-word-pasta"),
        pytest.param("FeelsGoodMan Clap FeelsGoodMan", "feelsgoodman clap feelsgoodman", id="not-a-whole-repeat"),
        pytest.param("  ", "", id="blank"),
    ],
)
def test_spam_key_is_the_shortest_repeating_run(text: str, key: str) -> None:
    assert spam_key(text) == key


def test_copypasta_share_is_the_top_repeats_share_of_messages() -> None:
    window = [msg("LULW"), msg("LULW LULW", "bob"), msg("lulw", "carol"), msg("what happened", "dave")]
    assert copypasta_share(window) == 0.75
    assert copypasta_share([msg("a"), msg("b")]) == 0.0  # nothing repeated
    assert copypasta_share([]) == 0.0


def test_sentiment_is_counted_in_units_of_the_streams_usual_message_count() -> None:
    labels = iter([])

    def fake_backend(texts):  # a stand-in classifier with known answers (the lexicon has its own tests)
        return [Sentiment(next(labels), 0.0) for _ in texts]

    featurizer = SegmentFeaturizer(sentiment=fake_backend)
    labels = iter(["positive"] * 5 + ["negative"] * 5)
    first = featurizer.chat([msg(str(i), f"u{i}") for i in range(10)])
    assert (first["chat_positive"], first["chat_negative"]) == (0.5, 0.5)  # no history: its own count
    labels = iter(["positive"] * 30)
    burst = featurizer.chat([msg(str(i), f"u{i}") for i in range(30)])
    assert (burst["chat_positive"], burst["chat_negative"], burst["chat_rate_ratio"]) == (3.0, 0.0, 3.0)


def test_the_lexicon_is_the_default_backend() -> None:
    values = SegmentFeaturizer().chat([msg("POGGERS"), msg("PepeHands", "bob"), msg("is he canadian", "carol")])
    assert (values["chat_positive"], values["chat_negative"]) == (pytest.approx(1 / 3), pytest.approx(1 / 3))


def test_hype_is_compared_with_the_streams_mean_and_no_event_is_zero() -> None:
    featurizer = SegmentFeaturizer()
    hype = [
        featurizer.chat([msg("hi")], events)["chat_hype"]
        for events in ([], [ev("sub")], [ev("sub"), ev("sub")], [ev("submysterygift", 40)])
    ]
    # floor 1 point: a first sub is 1.0; then the mean of (0, 1, 2) is 1; a 40-gift bomb caps at 20.
    assert hype == [0.0, 1.0, 2.0, 20.0]


def test_copypasta_is_compared_with_the_streams_median_share() -> None:
    featurizer = SegmentFeaturizer()
    calm = [msg("a", "u1"), msg("b", "u2"), msg("c", "u3"), msg("d", "u4")]
    spam = [msg("Pog", f"u{i}") for i in range(4)]
    values = [featurizer.chat(window)["chat_copypasta"] for window in (calm, calm, spam)]
    assert values == [1.0, 0.0, 20.0]  # 1.0 before history; then vs the 5 % floor, capped


def test_rolling_baseline_mean_and_start_at_floor() -> None:
    baseline = RollingBaseline(window=3, floor=0.5, statistic="mean", start_at_floor=True)
    assert [baseline.ratio(v) for v in (0.0, 2.0, 4.0, 3.0)] == [0.0, 4.0, 4.0, 1.5]
    with pytest.raises(ValueError, match="statistic"):
        RollingBaseline(statistic="mode")


@pytest.mark.parametrize(
    ("n", "limit", "expected"),
    [
        pytest.param(5, None, [0, 1, 2, 3, 4], id="no-limit"),
        pytest.param(3, 5, [0, 1, 2], id="under-the-limit"),
        pytest.param(10, 4, [0, 2, 5, 7], id="evenly-spaced"),
    ],
)
def test_spread_sample(n: int, limit: int | None, expected: list[int]) -> None:
    assert list(spread_sample(list(range(n)), limit)) == expected


def test_a_sampled_window_scales_its_sentiment_counts_back_up() -> None:
    seen: list[int] = []

    def all_positive(texts):
        seen.append(len(texts))
        return [Sentiment("positive", 1.0) for _ in texts]

    featurizer = SegmentFeaturizer(sentiment=all_positive, sentiment_max=10)
    values = featurizer.chat([msg(str(i), f"u{i}") for i in range(40)])
    assert seen == [10] and values["chat_positive"] == 1.0  # 10 of 40 classified, counted as 40
