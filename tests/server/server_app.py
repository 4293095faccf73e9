"""The processing server as the tests run it: the demo channel stands in for Twitch, and segments,
lags and retries are short enough for a test to watch a job live, report and recover."""

from __future__ import annotations

# Long enough for production mode, which the tests run in (appconfig.check_secret).
TOKEN = "test-server-token-0123456789abcdefghijklmnop"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def fast_config(tmp_path, hls_server, **overrides) -> dict:
    return {
        "SERVER_API_TOKEN": TOKEN,
        "INGEST_API_TOKEN": "test-ingest-token-0123456789abcdefghijklmnop",
        "DATA_DIR": tmp_path / "data",
        "MEDIA_ROOT": tmp_path / "media",
        "ALLOWED_SOURCE_HOSTS": ["127.0.0.1"],
        "TWITCH_URL_TEMPLATE": hls_server.url("{login}"),
        "SEGMENT_SECONDS": 4.0,
        "CHAT_LAG_S": 0.5,
        "CHAT_WINDOW_S": 4.0,
        "STREAM_READ_TIMEOUT_S": 4.0,
        "RETRY_MIN_S": 0.5,
        "RETRY_MAX_S": 2.0,
        "REPORT_RETRY_MAX_S": 0.5,
        "CHAT_SENTIMENT_BACKEND": "lexicon",  # not "auto": a downloaded model must not change what tests see
        **overrides,
    }


def job_body(webapp_stub, **overrides) -> dict:
    """POST /api/v1/jobs for the demo channel, reporting to the recording webapp stub."""
    return {
        "stream_id": 1,
        "source": "demo_channel",
        "chat_channel": None,
        "callback_base": webapp_stub.url,
        **overrides,
    }
