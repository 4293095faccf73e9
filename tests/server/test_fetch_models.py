"""The install step that fetches the models (scripts/fetch_models.py, run by install.sh and so by
run.sh), against loopback stand-ins for Zenodo and the Hugging Face hub."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_hosts import FakeHub, FileHost, closed_port_url

from panns.download import CheckpointFile, cache_dir
from scripts.fetch_models import main
from server.chat.sentiment.download import DEFAULT_MODEL, DEFAULT_REVISION, downloaded, model_dir

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT = os.urandom(200_000)  # stands in for Cnn14's 327 MB
SPEC = CheckpointFile("Cnn14_mAP=0.431.pth", len(CHECKPOINT), hashlib.sha256(CHECKPOINT).hexdigest())
WEIGHTS = {
    "config.json": b'{"model_type": "bert"}\n',
    "model.safetensors": os.urandom(100_000),
    "tokenizer.json": b'{"version": "1.0"}\n',
}


@pytest.fixture
def hosts(monkeypatch, tmp_path):
    zenodo = FileHost({f"/record/3987831/files/{SPEC.file}": CHECKPOINT})
    hub = FakeHub({DEFAULT_MODEL: WEIGHTS}, commit=DEFAULT_REVISION)
    monkeypatch.setenv("ZENODO_ENDPOINT", zenodo.base)
    monkeypatch.setenv("HF_ENDPOINT", hub.base)
    monkeypatch.setenv("HIGHLIGHTS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("HIGHLIGHTS_NO_DOWNLOADS", raising=False)
    yield zenodo, hub
    zenodo.close()
    hub.close()


def run(**kwargs) -> str:
    out = io.StringIO()
    assert main(["--quiet"], out, panns_spec=SPEC, **kwargs) == 0
    return out.getvalue()


def test_the_install_step_fetches_both_models_once_and_says_what_it_fetched(hosts, monkeypatch):
    zenodo, hub = hosts
    first = run()
    assert first.count("fetched in") == 2 and "not fetched" not in first, first
    assert (cache_dir() / SPEC.file).read_bytes() == CHECKPOINT
    assert downloaded(DEFAULT_MODEL) == model_dir(DEFAULT_MODEL)
    assert "0.2 MB in" in first and "PANNs Cnn14" in first and DEFAULT_MODEL in first

    requests = len(zenodo.requests), hub.heads, len(hub.cdn.requests)
    monkeypatch.setenv("ZENODO_ENDPOINT", closed_port_url())
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    second = run()
    assert second.count("already present, verified") == 2, second
    assert (len(zenodo.requests), hub.heads, len(hub.cdn.requests)) == requests


def test_offline_the_install_step_says_why_each_model_was_not_fetched_and_carries_on(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CI": "true",
        "HIGHLIGHTS_CACHE": str(tmp_path / "cache"),
        "ZENODO_ENDPOINT": closed_port_url(),
        "HF_ENDPOINT": closed_port_url(),
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "scripts/fetch_models.py", "--quiet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "not fetched" in line]
    assert len(lines) == 2 and all(
        "cannot reach 127.0.0.1:" in line and "(offline?)" in line and "the server runs without it" in line
        for line in lines
    ), result.stdout
    assert time.monotonic() - started < 60
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))


def test_the_install_step_can_be_told_not_to_download(hosts, monkeypatch):
    zenodo, hub = hosts
    monkeypatch.setenv("HIGHLIGHTS_NO_DOWNLOADS", "1")
    assert "not fetched (HIGHLIGHTS_NO_DOWNLOADS is set)" in run()
    assert zenodo.requests == [] and hub.heads == 0


def test_a_failing_host_costs_only_its_own_model(hosts):
    zenodo, hub = hosts
    hub.status = 503
    out = run()
    assert "fetched in" in out.split("chat sentiment")[0]
    assert "not fetched:" in out.split("chat sentiment")[1] and "answered 503" in out
