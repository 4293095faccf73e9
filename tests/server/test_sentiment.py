"""Chat sentiment: tokeniser, lexicon backend, labelled-set quality, CLI, fallback."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.metrics import f1_score

from server.chat.sentiment import ChatText, Sentiment, SentimentError, load_backend, load_with_fallback
from server.chat.sentiment.lexicon import LexiconSentiment
from server.chat.sentiment.service import ChatSentiment
from server.chat.sentiment.tokenize import Token, tokenize

ROOT = Path(__file__).resolve().parents[2]
LABELLED = ROOT / "tests" / "data" / "xqcow_sentiment_labels.tsv"
OFFLINE = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@pytest.mark.parametrize(
    ("text", "emotes", "expected"),
    [
        pytest.param("LUL lul", (), [Token("LUL", "emote"), Token("lul", "word")], id="emote-is-case-sensitive"),
        pytest.param("xqcL hi", ("xqcL",), [Token("xqcL", "emote"), Token("hi", "word")], id="twitch-emote-from-tag"),
        pytest.param("D: xD <3", (), [Token("D:", "emoticon"), Token("xD", "emoticon"), Token("<3", "emoticon")],
                     id="emoticons-not-punctuation"),
        pytest.param("sooooo GOOD", (), [Token("soo", "word", elongated=True), Token("good", "word", caps=True)],
                     id="elongation-and-caps"),
        pytest.param("HAHAHAHAHA", (), [Token("haha", "word", caps=True, elongated=True)], id="laughter"),
        pytest.param("lolllll", (), [Token("lol", "word", elongated=True)], id="stretched-lol"),
        pytest.param("nice😂!", (), [Token("😂", "emoji"), Token("nice", "word")], id="emoji-glued-to-a-word"),
        pytest.param("?????", (), [Token("?", "question")], id="question-marks"),
        pytest.param("⣿⠄⡇⢸⣟", (), [], id="braille-art-is-not-emoji"),
    ],
)  # fmt: skip
def test_it_tokenizes_twitch_chat(text: str, emotes: tuple[str, ...], expected: list[Token]) -> None:
    assert tokenize(text, emotes, {"LUL"}) == expected


@pytest.mark.parametrize(
    ("text", "label"),
    [
        pytest.param("POGGERS", "positive", id="surveyed-emote"),
        pytest.param("PogU Clap", "positive", id="third-party-emote"),
        pytest.param("poggers", "positive", id="emote-typed-lowercase"),
        pytest.param("PepeHands", "negative", id="sad-emote"),
        pytest.param("monkaW", "negative", id="fear-emote"),
        pytest.param("D:", "negative", id="shock-emoticon"),
        pytest.param("this is so good", "positive", id="vader-word"),
        pytest.param("this is not good", "negative", id="negated-word"),
        pytest.param("NO WAY POGGERS", "positive", id="negation-does-not-flip-an-emote"),
        pytest.param("😂😂", "positive", id="emoji"),
        pytest.param("is he canadian", "neutral", id="question"),
        pytest.param("Kappa", "neutral", id="sarcasm-marker"),
        pytest.param("", "neutral", id="empty"),
    ],
)
def test_the_lexicon_reads_twitch_sentiment(text: str, label: str) -> None:
    assert LexiconSentiment().sentiment(text).label == label


def test_caps_and_stretching_make_a_message_stronger() -> None:
    lexicon = LexiconSentiment()
    assert lexicon.compound("GOOD") > lexicon.compound("good") > 0
    assert lexicon.compound("gooood") > lexicon.compound("good")
    assert -1.0 <= lexicon.compound("FeelsGoodMan Clap " * 50) <= 1.0


def _labelled(split: str) -> list[dict[str, str]]:
    with LABELLED.open(encoding="utf-8") as fh:
        rows = csv.DictReader((line for line in fh if not line.startswith("#")), delimiter="\t",
                              quoting=csv.QUOTE_NONE, escapechar="\\")
        return [row for row in rows if row["split"] == split]


def _macro_f1(predict, rows) -> float:
    return f1_score([r["label"] for r in rows], [predict(r["text"]) for r in rows], average="macro")


def test_the_labelled_set_is_what_its_readme_says() -> None:
    rows = _labelled("dev") + _labelled("test")
    assert (len(_labelled("dev")), len(rows)) == (195, 380)
    assert {r["label"] for r in rows} == {"positive", "neutral", "negative"}


def test_the_lexicon_beats_the_emote_lexicon_alone_and_vader_on_held_out_messages() -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    rows = _labelled("test")
    vader = SentimentIntensityAnalyzer()

    def vader_label(text: str) -> str:  # VADER's own documented cut-offs
        compound = vader.polarity_scores(text)["compound"]
        return "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"

    ours = _macro_f1(lambda t: LexiconSentiment().sentiment(t).label, rows)
    kobs = _macro_f1(lambda t: LexiconSentiment(extras=False, words=False).sentiment(t).label, rows)
    assert ours >= 0.85  # measured 0.92 (docs/chat.md); the published emote-lexicon classifier: 0.60
    assert ours > kobs + 0.2 and ours > _macro_f1(vader_label, rows) + 0.4


def _cli(*args: str, stdin: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.chat.sentiment", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, env=env or OFFLINE, timeout=120)


def test_the_cli_prints_one_json_object_per_line() -> None:
    done = _cli("--batch", "2", stdin="POGGERS OMG\nPepeHands\nis he canadian\n")
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["label"] for r in results] == ["positive", "negative", "neutral"]
    assert results[0]["score"] > 0 > results[1]["score"] and results[2]["score"] == 0


def test_an_unknown_backend_is_refused_in_words() -> None:
    with pytest.raises(SentimentError, match="unknown sentiment backend 'bert'"):
        load_backend("bert")
    with pytest.raises(SentimentError, match="unknown sentiment backend"):
        ChatSentiment("bert")


def test_a_missing_model_falls_back_to_the_lexicon_with_a_notice(tmp_path: Path) -> None:
    backend, notice = load_with_fallback("transformers", str(tmp_path / "missing"))
    assert backend.name == "lexicon"
    assert notice and "could not be loaded" in notice and "using the lexicon backend" in notice
    service = ChatSentiment("transformers", str(tmp_path / "missing"), background=False)
    assert service.active == "lexicon" and "using the lexicon backend" in (service.notice or "")
    assert service.classify([ChatText("PogU")]) == [Sentiment("positive", pytest.approx(0.568, abs=0.01))]


def test_the_lexicon_service_has_no_notice() -> None:
    service = ChatSentiment("lexicon")
    assert (service.active, service.notice, service.wait_ready(0)) == ("lexicon", None, True)
