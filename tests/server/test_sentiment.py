"""Chat sentiment: tokeniser, lexicon backend, sarcasm, the learned table, labelled-set quality, CLI, fallback."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.metrics import f1_score

from server.chat.sentiment import ChatText, Sentiment, SentimentError, load_backend, load_with_fallback, train_lexicon
from server.chat.sentiment.corpus import XQCOW_LOG, privmsgs_in_time_order, split_point, training_part
from server.chat.sentiment.lexicon import LexiconSentiment, emote_table
from server.chat.sentiment.service import ChatSentiment
from server.chat.sentiment.tokenize import Token, tokenize

ROOT = Path(__file__).resolve().parents[2]
LABELLED = ROOT / "tests" / "data" / "xqcow_sentiment_labels.tsv"
HELD_OUT = ROOT / "tests" / "data" / "xqcow_sentiment_heldout.tsv"
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
        pytest.param("nice /s Kappa", ("Kappa",), [Token("nice", "word"), Token("/s", "sarcasm"), Token("Kappa", "sarcasm")],
                     id="sarcasm-markers"),
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
        pytest.param("Kappa", "neutral", id="sarcasm-marker-alone"),
        pytest.param("great play Kappa", "negative", id="sarcasm-turns-praise-around"),
        pytest.param("what a great game 4Head", "negative", id="4head-groans"),
        pytest.param("so much fun /s", "negative", id="slash-s"),
        pytest.param("LULW Kappa", "positive", id="sarcasm-does-not-turn-an-emote"),
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
        rows = csv.DictReader(
            (line for line in fh if not line.startswith("#")), delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\"
        )
        return [row for row in rows if row["split"] == split]


def _macro_f1(predict, rows) -> float:
    return f1_score([r["label"] for r in rows], [predict(r["text"]) for r in rows], average="macro")


def test_the_labelled_set_is_what_its_readme_says() -> None:
    rows = _labelled("dev") + _labelled("test")
    assert (len(_labelled("dev")), len(rows)) == (195, 380)
    assert {r["label"] for r in rows} == {"positive", "neutral", "negative"}


def test_on_the_self_labelled_test_half_the_lexicon_beats_the_emote_lexicon_alone_and_vader() -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    rows = _labelled("test")
    vader = SentimentIntensityAnalyzer()

    def vader_label(text: str) -> str:  # VADER's own documented cut-offs
        compound = vader.polarity_scores(text)["compound"]
        return "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"

    ours = _macro_f1(lambda t: LexiconSentiment().sentiment(t).label, rows)
    kobs = _macro_f1(lambda t: LexiconSentiment(extras=False, words=False).sentiment(t).label, rows)
    # Optimistic: this set was read while the extra table was written (docs/chat.md); a floor, not a claim.
    assert ours >= 0.85  # measured 0.92
    assert ours > kobs + 0.2 and ours > _macro_f1(vader_label, rows) + 0.4


def test_intensifiers_dampers_and_but_follow_vaders_rules() -> None:
    lexicon = LexiconSentiment()
    assert lexicon.compound("very good") > lexicon.compound("good") > lexicon.compound("kinda good") > 0
    assert lexicon.compound("kinda bad") > lexicon.compound("bad")  # a damper moves toward 0 either way
    assert lexicon.sentiment("good start but awful ending").label == "negative"
    assert lexicon.sentiment("awful start but good ending").label == "positive"
    assert LexiconSentiment(vader_rules=False).compound("very good") == lexicon.compound("good")


def test_the_sarcasm_rules_can_be_switched_off_for_comparison() -> None:
    assert LexiconSentiment(sarcasm=False).sentiment("great play Kappa").label == "positive"
    assert LexiconSentiment(sarcasm=False).sentiment("4Head").label == "positive"  # the survey's +0.40


def test_the_training_part_is_the_first_60_percent_of_the_log_in_time() -> None:
    everything = privmsgs_in_time_order(XQCOW_LOG)
    train = training_part(XQCOW_LOG)
    assert (len(everything), len(train)) == (4933, 2959) == (4933, split_point(4933))
    assert [m.ts for m in everything] == sorted(m.ts for m in everything)
    assert train == everything[:2959] and train[-1].ts <= everything[2959].ts


def test_a_message_is_labelled_by_its_surveyed_emotes_unless_it_is_sarcastic() -> None:
    emotes = emote_table()

    def label(text: str) -> int | None:
        return train_lexicon.distant_label(tokenize(text, (), emotes), emotes)

    assert (label("so good POGGERS"), label("PepeHands no"), label("hello chat")) == (1, 0, None)
    assert label("POGGERS PepeHands") is None  # mean 0.15: between the cut-offs
    assert label("nice POGGERS Kappa") is None


def test_the_shipped_learned_table_is_what_the_training_script_builds() -> None:
    assert train_lexicon.main(["--check"]) == 0
    assert train_lexicon.build() == train_lexicon.LEARNED.read_text(encoding="utf-8") == train_lexicon.build()


def _irc_log(path: Path, texts: list[str]) -> Path:
    lines = [
        f"@id=m{i};tmi-sent-ts={1_568_500_000_000 + 1000 * i} :u{i}!u{i}@u{i}.tmi.twitch.tv PRIVMSG #chan :{text}"
        for i, text in enumerate(texts)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_words_that_keep_company_with_happy_or_sad_emotes_are_learned(tmp_path: Path) -> None:
    texts = (
        [f"hypetrain filler{i} POGGERS" for i in range(20)]
        + [f"throwing filler{i} PepeHands" for i in range(20)]
        + [f"stream{i} POGGERS" for i in range(20)]
        + ["hypetrain once", "rare POGGERS", "rare PepeHands"]
    )
    out = tmp_path / "learned.tsv"
    assert train_lexicon.main(["--log", str(_irc_log(tmp_path / "chat.log", texts)), "--out", str(out)]) == 0
    rows = {
        line.split("\t")[0]: line.split("\t")[1:]
        for line in out.read_text().splitlines()
        if line and not line.startswith(("#", "token"))
    }
    assert set(rows) == {"hypetrain", "throwing"}  # fillers, "rare" (2 messages) and streamN are below the bar
    assert float(rows["hypetrain"][0]) > 0.2 and rows["hypetrain"][1:] == ["20", "20"]
    assert float(rows["throwing"][0]) < -0.2 and rows["throwing"][1:] == ["20", "0"]


def test_a_learned_token_counts_only_where_no_table_knows_it() -> None:
    lexicon = LexiconSentiment()
    lexicon.learned = {"hypetrain": 0.6, "good": -0.9, "m0xyRU": 0.5}
    assert lexicon.sentiment("HYPETRAIN").label == "positive"
    assert lexicon.valence(Token("good", "word")) == pytest.approx(1.9 / 4)  # VADER's, not the learned one
    assert lexicon.sentiment("m0xyRU", ("m0xyRU",)).label == "positive"  # a channel emote from the tag
    assert LexiconSentiment(learned=False).sentiment("hypetrain").label == "neutral"


def test_the_training_script_refuses_a_missing_log_or_one_without_emote_labels(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        train_lexicon.main(["--log", str(tmp_path / "nope.log"), "--out", str(tmp_path / "x.tsv")])
    assert "no such log" in capsys.readouterr().err
    quiet = _irc_log(tmp_path / "quiet.log", ["hello chat", "is he canadian", "POGGERS only happy"])
    assert train_lexicon.main(["--log", str(quiet), "--out", str(tmp_path / "x.tsv")]) == 1
    assert "both polarities" in capsys.readouterr().err and not (tmp_path / "x.tsv").exists()


def _held_out() -> list[dict[str, str]]:
    with HELD_OUT.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_the_held_out_set_is_what_its_readme_says() -> None:
    rows = _held_out()
    labels = [r["label"] for r in rows]
    assert (len(rows), labels.count("positive"), labels.count("neutral"), labels.count("negative")) == (
        400,
        242,
        122,
        36,
    )
    first_held_out_ms = round(privmsgs_in_time_order(XQCOW_LOG)[2959].ts * 1000)
    assert min(int(r["ts_ms"]) for r in rows) >= first_held_out_ms  # all from the held-out 40 %
    assert not {r["id"] for r in rows} & {m.id for m in training_part(XQCOW_LOG)}


def test_on_the_independent_held_out_set_the_lexicon_stays_well_ahead_of_its_baselines() -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    rows = _held_out()
    vader = SentimentIntensityAnalyzer()

    def vader_label(text: str) -> str:
        compound = vader.polarity_scores(text)["compound"]
        return "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"

    ours = _macro_f1(lambda t: LexiconSentiment().sentiment(t).label, rows)
    kobs = _macro_f1(
        lambda t: (
            LexiconSentiment(extras=False, words=False, learned=False, sarcasm=False, vader_rules=False)
            .sentiment(t)
            .label
        ),
        rows,
    )
    # A regression floor, not the figure: measured once 0.827 (Kobs alone 0.486, VADER 0.273;
    # docs/chat.md). Nothing may be tuned on this set; a drop below the floor means a regression.
    assert ours >= 0.75
    assert ours > kobs + 0.2 and ours > _macro_f1(vader_label, rows) + 0.4


def _cli(*args: str, stdin: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server.chat.sentiment", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env or OFFLINE,
        timeout=120,
    )


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
