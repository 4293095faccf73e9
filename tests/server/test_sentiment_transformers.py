"""The transformers backend with a tiny model built and saved here (nothing is downloaded)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from server.chat.sentiment import ChatText, SentimentError, load_backend
from server.chat.sentiment.__main__ import cli
from server.chat.sentiment.ensemble import EnsembleSentiment, combine
from server.chat.sentiment.hf import TransformersSentiment, _label_map, preprocess
from server.chat.sentiment.lexicon import LexiconSentiment
from server.chat.sentiment.service import WORKER_KEY, ChatSentiment
from server.chat.sentiment.tiny import build_tiny_model
from server.inference import ModelWorker

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module", autouse=True)
def offline():
    # The tiny model is a local folder; nothing may reach for the Hub.
    old = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    yield
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-sentiment"))


def texts(*items: str) -> list[ChatText]:
    return [ChatText(t) for t in items]


def test_it_classifies_with_a_model_from_a_local_folder(tiny_model: Path) -> None:
    backend = TransformersSentiment(str(tiny_model), batch_size=2)
    results = backend.classify(texts("the good", "awful trash", "chat is", "love pog", "@someone hate"))
    assert [r.label for r in results] == ["positive", "negative", "neutral", "positive", "negative"]
    assert results[0].score > 0.5 and results[1].score < -0.5 and abs(results[2].score) < 0.5
    assert backend.classify([]) == []


def test_anonymous_labels_are_read_in_cardiffnlp_order(tmp_path: Path) -> None:
    folder = build_tiny_model(tmp_path / "anon", anonymous_labels=True)
    assert [r.label for r in TransformersSentiment(str(folder)).classify(texts("sad", "nice"))] == [
        "negative",
        "positive",
    ]


@pytest.mark.parametrize(
    ("id2label", "expected"),
    [
        pytest.param({0: "negative", 1: "neutral", 2: "positive"}, {"negative": "negative", "neutral": "neutral",
                     "positive": "positive"}, id="named"),
        pytest.param({0: "Positive", 1: "Negative", 2: "Neutral"}, {"Negative": "negative", "Neutral": "neutral",
                     "Positive": "positive"}, id="named-any-order-and-case"),
        pytest.param({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, {"LABEL_0": "negative", "LABEL_1": "neutral",
                     "LABEL_2": "positive"}, id="anonymous-three"),
    ],
)  # fmt: skip
def test_label_mapping(id2label: dict[int, str], expected: dict[str, str]) -> None:
    assert _label_map(id2label) == expected


def test_a_model_with_other_labels_is_refused() -> None:
    with pytest.raises(SentimentError, match="not negative/neutral/positive"):
        _label_map({0: "NEGATIVE", 1: "POSITIVE"})


def test_mentions_and_links_are_masked_like_the_training_tweets() -> None:
    assert preprocess("@xQcOW look https://bit.ly/x now") == "@user look http now"


def test_the_service_runs_the_model_on_the_shared_worker_thread_in_batches(tiny_model: Path) -> None:
    worker = ModelWorker(window_s=0.2, max_batch=8)
    try:
        service = ChatSentiment("transformers", str(tiny_model), worker)
        assert service.wait_ready(120) and service.notice is None and service.active == "transformers"
        assert worker.registered(WORKER_KEY)
        # Two segments submitted at once (as two streams would) share one batch call.
        futures = [worker.submit(WORKER_KEY, texts("the good", "bad")), worker.submit(WORKER_KEY, texts("lose"))]
        first, second = (f.result(30) for f in futures)
        assert [r.label for r in first] == ["positive", "negative"] and [r.label for r in second] == ["negative"]
        assert worker.batches_run == 1
        assert [r.label for r in service.classify(texts("great win"))] == ["positive"]
    finally:
        worker.stop()


def test_the_cli_runs_the_transformers_backend(tiny_model: Path) -> None:
    # In-process (the subprocess path is tested with the lexicon): importing transformers again
    # in a child costs ~20 s on a busy 2-core machine.
    out = io.StringIO()
    assert cli(["--backend", "transformers", "--model", str(tiny_model)], io.StringIO("the good\nawful\n"), out) == 0
    assert [json.loads(line)["label"] for line in out.getvalue().splitlines()] == ["positive", "negative"]


def test_in_the_ensemble_emotes_decide_and_the_model_reads_the_rest(tiny_model: Path) -> None:
    model = TransformersSentiment(str(tiny_model))
    seen: list[str] = []

    def model_classify(messages):
        seen.extend(m.text for m in messages)
        return model.classify(messages)

    messages = texts("sad FeelsGoodMan", "the good", "awful", "m0xyRU", "love")
    messages[3] = ChatText("m0xyRU", ("m0xyRU",))  # a channel emote no table knows: the model reads it
    results = combine(messages, LexiconSentiment(), model_classify)
    assert [r.label for r in results[:3]] + [results[4].label] == ["positive", "positive", "negative", "positive"]
    assert seen == ["the good", "awful", "m0xyRU", "love"]  # the emote-decided message never reached it
    assert model.classify(texts("sad FeelsGoodMan"))[0].label == "negative"  # what the model alone says
    assert (
        combine(texts("POGGERS", "D:"), LexiconSentiment(), model_classify)
        == LexiconSentiment().classify(texts("POGGERS", "D:"))
        and len(seen) == 4
    )


def test_the_ensemble_is_a_backend_and_runs_in_the_service(tiny_model: Path) -> None:
    backend = load_backend("ensemble", str(tiny_model))
    assert isinstance(backend, EnsembleSentiment) and backend.name == "ensemble"
    assert [r.label for r in backend.classify(texts("sad FeelsGoodMan", "hate"))] == ["positive", "negative"]
    worker = ModelWorker(window_s=0.05, max_batch=8)
    try:
        service = ChatSentiment("ensemble", str(tiny_model), worker)
        assert service.wait_ready(120) and service.notice is None and service.active == "ensemble"
        assert service.max_messages is not None  # the model's per-segment budget applies
        assert [r.label for r in service.classify(texts("sad FeelsGoodMan", "great win", "bad"))] == [
            "positive",
            "positive",
            "negative",
        ]
    finally:
        worker.stop()
