"""The processing server in production: it refuses to start on a missing, published or short
token (issue 11, finding 1), refuses a huge body before reading it and answers deep nesting and
out-of-range ids with a 400 in JSON (finding 4). The limits are checked on a real `python -m
server` (waitress) process on loopback, as they were found."""

from __future__ import annotations

import json
import sys

import pytest
import requests
from production import assert_huge_body_refused_unread, isolated_env, running
from server_app import AUTH, TOKEN

from appconfig import ImproperlyConfigured, read_secrets_file
from appsecrets import ensure_secrets
from server.app import create_app, shutdown
from server.demo.stack import free_port

INGEST = "ingest-token-for-the-limits-tests-0123456789"


def config(tmp_path, **overrides):
    return {
        "DJANGO_DEBUG": False,
        "SERVER_API_TOKEN": TOKEN,
        "INGEST_API_TOKEN": INGEST,
        "DATA_DIR": tmp_path / "data",
        "MEDIA_ROOT": tmp_path / "media",
        "RESUME_JOBS": False,
        **overrides,
    }


@pytest.mark.parametrize("name", ["SERVER_API_TOKEN", "INGEST_API_TOKEN"])
@pytest.mark.parametrize(
    "value, words",
    [
        (None, "is not set"),
        ("dev-server-token", "is a published development default"),
        ("dev-ingest-token", "is a published development default"),
        ("s" * 31, "is shorter than 32 characters"),
    ],
)
def test_outside_debug_the_server_refuses_a_bad_token_by_name(tmp_path, name, value, words):
    with pytest.raises(ImproperlyConfigured, match=f"^{name} {words}"):
        create_app(config(tmp_path, **{name: value}))


def test_in_debug_the_development_tokens_are_allowed(tmp_path):
    app = create_app(config(tmp_path, DJANGO_DEBUG=True, SERVER_API_TOKEN=None, INGEST_API_TOKEN=None))
    try:
        assert (app.config["SERVER_API_TOKEN"], app.config["INGEST_API_TOKEN"]) == (
            "dev-server-token",
            "dev-ingest-token",
        )
    finally:
        shutdown(app)


def test_the_generated_secrets_file_gives_the_server_its_tokens(tmp_path, monkeypatch):
    for name, value in isolated_env(tmp_path).items():
        monkeypatch.setenv(name, value)
    for name in ("DJANGO_DEBUG", "SERVER_API_TOKEN", "INGEST_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    secrets = read_secrets_file(ensure_secrets(tmp_path / "no-secrets.env"))
    app = create_app({"DATA_DIR": tmp_path / "data", "MEDIA_ROOT": tmp_path / "media", "RESUME_JOBS": False})
    try:
        assert app.config["DJANGO_DEBUG"] is False
        assert app.config["SERVER_API_TOKEN"] == secrets["SERVER_API_TOKEN"]
        assert app.config["INGEST_API_TOKEN"] == secrets["INGEST_API_TOKEN"]
    finally:
        shutdown(app)


@pytest.fixture
def client(tmp_path):
    app = create_app(config(tmp_path, SERVER_MAX_REQUEST_BYTES=1000))
    yield app.test_client()
    shutdown(app)


def test_an_authorised_body_over_the_limit_is_a_413_in_json(client):
    r = client.post(
        "/api/v1/jobs", data=json.dumps({"pad": "x" * 2000}), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert r.get_json() == {"error": "request body larger than 1000 bytes"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python -m server` (waitress) in production mode on a free port."""
    tmp_path = tmp_path_factory.mktemp("production-server")
    port = free_port()
    env = isolated_env(
        tmp_path,
        SERVER_API_TOKEN=TOKEN,
        INGEST_API_TOKEN=INGEST,
        SERVER_PORT=str(port),
        DATA_DIR=str(tmp_path / "data"),
        MEDIA_ROOT=str(tmp_path / "media"),
        RESUME_JOBS="false",
        PANNS_CHECKPOINT=str(tmp_path / "no-weights.pth"),
    )
    with running([sys.executable, "-m", "server"], env, f"http://127.0.0.1:{port}/healthz", tmp_path / "server.log"):
        yield port, f"http://127.0.0.1:{port}"


def test_a_gigabyte_body_without_a_token_is_refused_before_it_is_sent(server):
    port, _ = server
    assert_huge_body_refused_unread(port, "/api/v1/jobs")


def test_deeply_nested_json_is_a_400_in_json(server):
    _, url = server
    for depth in [30_000, 33]:  # 30 000 is past Python's recursion limit, within the 64 KB body limit
        r = requests.post(
            f"{url}/api/v1/jobs",
            data="[" * depth + "]" * depth,
            timeout=10,
            headers={**AUTH, "Content-Type": "application/json"},
        )
        assert (r.status_code, r.json()) == (400, {"error": "JSON nested more than 32 levels deep"})
    r = requests.patch(
        f"{url}/api/v1/jobs/1",
        data='{"threshold": ' + "[" * 50 + "]" * 50 + "}",
        timeout=10,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert (r.status_code, r.json()) == (400, {"error": "JSON nested more than 32 levels deep"})


def test_a_stream_id_of_2_to_the_63_is_a_400_in_json(server):
    _, url = server
    for stream_id in [2**63, 2**64]:
        r = requests.post(
            f"{url}/api/v1/jobs",
            headers=AUTH,
            timeout=10,
            json={
                "stream_id": stream_id,
                "source": "demo_channel",
                "chat_channel": None,
                "callback_base": "http://127.0.0.1:1",
            },
        )
        assert r.status_code == 400
        assert r.json()["error"].startswith("stream_id must be a positive integer up to 9223372036854775807")
