"""A live job with chat: sentiment, hype and copy-pasta features reach the webapp as numbers only."""

from __future__ import annotations

import json

import pytest
from server_app import AUTH, job_body
from waiting import wait_for

CHAT_GROUP = ("chat_messages", "chat_positive", "chat_negative", "chat_hype", "chat_copypasta")


@pytest.mark.timeout(150)
def test_a_missing_sentiment_model_degrades_to_the_lexicon_and_says_so(
    make_app, tmp_path, irc_server, webapp_stub, monkeypatch
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a Hub id would otherwise retry for a minute
    client = make_app(
        TWITCH_IRC_HOST="127.0.0.1",
        TWITCH_IRC_PORT=irc_server.port,
        TWITCH_IRC_TLS=False,
        CHAT_SENTIMENT_BACKEND="transformers",
        CHAT_SENTIMENT_MODEL=str(tmp_path / "no-model-here"),
    ).test_client()
    body = job_body(webapp_stub, stream_id=7, chat_channel="demo_channel")
    assert client.post("/api/v1/jobs", json=body, headers=AUTH).status_code == 201

    def chatty_segments():
        return [
            s
            for post in webapp_stub.posted("segments")
            for s in post["segments"]
            if (s["features"]["chat_messages"] or 0) > 0
        ]

    assert wait_for(lambda: len(chatty_segments()) >= 1, timeout=90)
    assert wait_for(
        lambda: any(
            "using the lexicon backend" in d for d in client.get("/api/v1/jobs/7", headers=AUTH).get_json()["degraded"]
        )
    )
    for segment in chatty_segments():
        features = segment["features"]
        assert all(isinstance(features[name], (int, float)) for name in CHAT_GROUP)
        assert features["chat_positive"] + features["chat_negative"] > 0
    # Only counts leave the chat code: no message text in anything sent to the webapp.
    sent = json.dumps(webapp_stub.posted("segments"))
    assert "POGGERS" not in sent and "LULW" not in sent
