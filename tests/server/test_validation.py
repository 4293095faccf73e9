"""Job requests from the webapp: channel names, allowed URLs only (no SSRF), callback hosts."""

import pytest

from server.validation import ValidationError, validate_job

TEMPLATE = "https://twitch.tv/{login}"


def job(**overrides):
    data = {"stream_id": 7, "source": "xqcow", "chat_channel": "xqcow", "callback_base": "http://127.0.0.1:8000"}
    data.update(overrides)
    return validate_job(data, ["127.0.0.1", "127.0.0.1:8181"], ["127.0.0.1"], TEMPLATE)


def test_a_channel_name_opens_its_twitch_page():
    request = job(source="XQCow")
    assert request.stream_url == "https://twitch.tv/xqcow"
    assert request.chat_channel == "xqcow"


def test_an_allowed_hls_url_is_opened_as_given():
    assert job(source="hls://http://127.0.0.1:8181/live/a/index.m3u8").stream_url.startswith("hls://http://127.0.0.1")


@pytest.mark.parametrize(
    "overrides, message",
    [
        pytest.param({"stream_id": "7"}, "stream_id", id="id-as-text"),
        pytest.param({"stream_id": True}, "stream_id", id="id-as-bool"),
        pytest.param({"stream_id": -1}, "stream_id", id="negative-id"),
        pytest.param({"source": "ab"}, "source", id="name-too-short"),
        pytest.param({"source": "bad name!"}, "source", id="name-with-spaces"),
        pytest.param({"source": "http://10.0.0.1/x.m3u8"}, "not allowed", id="private-host"),
        pytest.param({"source": "hls://metadata.google.internal/x"}, "not allowed", id="hls-bare-host"),
        pytest.param(
            {"source": "http://127.0.0.1:5000/api/v1/jobs"},
            "127.0.0.1:5000 is not allowed",
            id="allowed-host-other-port",
        ),
        pytest.param({"source": "hls://http://127.0.0.1:8182/x.m3u8"}, "not allowed", id="hls-allowed-host-other-port"),
        pytest.param({"source": "http://127.0.0.1@evil.example/x"}, "user name", id="userinfo-trick"),
        pytest.param({"source": "file:///etc/passwd"}, "must start with", id="file-url"),
        pytest.param({"chat_channel": "#no"}, "chat_channel", id="bad-chat"),
        pytest.param({"callback_base": "http://evil.example"}, "callback host", id="callback-host"),
        pytest.param({"callback_base": "ftp://127.0.0.1"}, "callback_base", id="callback-scheme"),
    ],
)
def test_a_bad_request_is_refused_naming_the_field(overrides, message):
    with pytest.raises(ValidationError, match=message):
        job(**overrides)


def test_a_body_that_is_not_an_object_is_refused():
    with pytest.raises(ValidationError, match="JSON object"):
        validate_job([1, 2], [], [], TEMPLATE)
