"""`python -m server.chat.sentiment download` against a loopback stand-in for the Hugging Face hub,
and the "auto" backend that uses what it fetched. The model served is a tiny real one built here."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest
from fake_hosts import FakeHub, closed_port_url, git_blob_sha1

from downloads import DownloadError
from server.chat.sentiment import NO_DOWNLOAD, ChatText, load_with_fallback, resolve
from server.chat.sentiment.__main__ import cli
from server.chat.sentiment.download import DEFAULT_MODEL, MANIFEST, download, downloaded, model_dir
from server.chat.sentiment.service import MAX_MESSAGES, ChatSentiment
from server.chat.sentiment.tiny import build_tiny_model

pytestmark = pytest.mark.timeout(180)
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict[str, bytes]:
    folder = build_tiny_model(tmp_path_factory.mktemp("tiny-sentiment"))
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.fixture
def hub(model_files, monkeypatch, tmp_path):
    hub = FakeHub(
        {
            DEFAULT_MODEL: dict(model_files),
            "someone/pickled": {
                "config.json": model_files["config.json"],
                "pytorch_model.bin": b"pickle",
                "vocab.txt": b"a\nb\n",
            },
        },
        commit=COMMIT,
    )
    monkeypatch.setenv("HF_ENDPOINT", hub.base)
    monkeypatch.setenv("HIGHLIGHTS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # loading the fetched folder must not reach for the real hub
    yield hub
    hub.close()


def fetch(**kwargs) -> Path:
    return download(DEFAULT_MODEL, COMMIT, backoff_s=0.01, progress=False, **kwargs)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part") or p.name.startswith("."))


def test_a_full_download_fetches_every_file_verified_and_the_auto_backend_uses_it(hub, model_files):
    assert resolve("auto") == ("lexicon", None, NO_DOWNLOAD)
    folder = fetch()
    assert folder == model_dir(DEFAULT_MODEL) and downloaded() == folder
    assert {name: (folder / name).read_bytes() for name in model_files} == model_files
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["revision"] == manifest["commit"] == COMMIT
    assert set(manifest["files"]) == set(model_files) and leftovers(folder) == []
    assert hub.cdn.requests == [(f"/repos/{DEFAULT_MODEL}/{manifest['files']['model.safetensors']['sha256']}", None)]

    assert resolve("auto") == ("transformers", str(folder), None)
    backend, notice = load_with_fallback("auto")
    assert notice is None and backend.name == "transformers"
    labels = [s.label for s in backend.classify([ChatText("good great love"), ChatText("bad awful hate")])]
    assert labels == ["positive", "negative"]


def test_a_complete_download_is_not_fetched_again_even_offline(hub, monkeypatch):
    fetch()
    heads, gets = hub.heads, len(hub.cdn.requests)
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    assert fetch() == model_dir(DEFAULT_MODEL)
    assert (hub.heads, len(hub.cdn.requests)) == (heads, gets)


def test_a_cut_download_resumes_with_a_range_request(hub):
    # Bigger than one 64 KiB read, so the cut leaves whole chunks in the .part file to resume from.
    weights = hub.repos[DEFAULT_MODEL]["model.safetensors"] = os.urandom(400_000)
    hub.cdn.plan = ["truncate"]
    folder = fetch()
    assert (folder / "model.safetensors").read_bytes() == weights
    (_, first), (_, resumed) = hub.cdn.requests
    assert first is None and resumed.startswith("bytes=") and int(resumed[6:-1]) > 0


def test_a_corrupt_weights_file_is_refused_and_nothing_half_written_stays(hub):
    hub.cdn.plan = ["corrupt"] * 3
    with pytest.raises(DownloadError, match=r"sha256 \w+ does not match the expected \w+ \(corrupt download\)"):
        fetch(retries=2)
    folder = model_dir(DEFAULT_MODEL)
    assert not (folder / "model.safetensors").exists() and not (folder / MANIFEST).exists()
    assert leftovers(folder) == [] and downloaded() is None
    assert resolve("auto")[0] == "lexicon"


def test_a_small_file_is_checked_against_its_git_blob_id(hub, model_files, tmp_path):
    # The hub's ETag of a git-stored file is its blob id: a damaged copy in place is fetched again.
    fetch()
    config = model_dir(DEFAULT_MODEL) / "config.json"
    config.write_bytes(b"{}")
    (model_dir(DEFAULT_MODEL) / MANIFEST).unlink()
    fetch()
    assert config.read_bytes() == model_files["config.json"]
    assert git_blob_sha1(config.read_bytes()) == git_blob_sha1(model_files["config.json"])


@pytest.mark.parametrize(
    "model, revision, message",
    [
        pytest.param("nobody/nothing", "main", "nobody/nothing has no config.json at revision main", id="no-such-repo"),
        pytest.param(DEFAULT_MODEL, "f" * 40, "has no config.json at revision ffff", id="no-such-revision"),
        pytest.param(
            "someone/pickled",
            "main",
            "has no model.safetensors .* pickled .bin files are never loaded",
            id="pickle-only-weights",
        ),
    ],
)
def test_a_missing_model_file_or_revision_is_refused_in_words(hub, model, revision, message):
    with pytest.raises(DownloadError, match=message):
        download(model, revision, progress=False)


def test_a_hub_that_is_down_is_reported_with_its_status(hub):
    hub.status = 503
    with pytest.raises(DownloadError, match="answered 503 .*run the command again later"):
        fetch()


def test_a_hub_serving_another_commit_than_the_pinned_one_is_refused(hub):
    hub.served_commit = "9" * 40
    with pytest.raises(DownloadError, match=f"asked for revision {COMMIT}, the hub served commit 9999"):
        fetch()
    assert not model_dir(DEFAULT_MODEL).exists()


def test_offline_the_command_fails_at_once_in_words_and_leaves_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    monkeypatch.setenv("HIGHLIGHTS_CACHE", str(tmp_path / "cache"))
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    started = time.monotonic()
    assert cli(["download", "--quiet"]) == 1
    assert time.monotonic() - started < 5, "an unreachable hub is not retried"
    assert "cannot reach 127.0.0.1:" in err.getvalue() and "(offline?)" in err.getvalue()
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.*"))


def test_the_command_prints_the_folder_it_filled(hub):
    out = io.StringIO()
    assert cli(["download", "--revision", COMMIT, "--quiet"], stdout=out) == 0
    assert out.getvalue().strip() == str(model_dir(DEFAULT_MODEL))


def test_without_a_download_auto_is_the_lexicon_and_says_how_to_get_the_model(monkeypatch, tmp_path):
    monkeypatch.setenv("HIGHLIGHTS_CACHE", str(tmp_path))
    service = ChatSentiment("auto")
    assert service.active == "lexicon" and service.notice == NO_DOWNLOAD and service.max_messages is None
    assert "python -m server.chat.sentiment download" in NO_DOWNLOAD
    assert ChatSentiment("lexicon").notice is None
    backend, notice = load_with_fallback("auto")
    assert backend.name == "lexicon" and notice == NO_DOWNLOAD


def test_auto_with_a_configured_model_folder_uses_it(monkeypatch, tmp_path):
    monkeypatch.setenv("HIGHLIGHTS_CACHE", str(tmp_path))
    assert resolve("auto", str(tmp_path)) == ("transformers", str(tmp_path), None)


def test_on_a_cpu_the_model_reads_a_sample_per_segment_and_on_a_gpu_every_message(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    missing = str(tmp_path / "no-model")  # loading fails at once; the cap is decided before
    monkeypatch.setattr("server.chat.sentiment.hf.gpu_available", lambda: False)
    assert ChatSentiment("transformers", missing, background=False).max_messages == MAX_MESSAGES
    monkeypatch.setattr("server.chat.sentiment.hf.gpu_available", lambda: True)
    assert ChatSentiment("transformers", missing, background=False).max_messages is None


def cardiffnlp_layout(folder: Path) -> dict[str, bytes]:
    """A tiny random RoBERTa with the pinned revision's file layout: config.json, model.safetensors,
    vocab.json + merges.txt (byte-level BPE), special_tokens_map.json, and no tokenizer_config.json."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForSequenceClassification

    folder.mkdir(parents=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        ["good great love pog", "bad awful hate", "what is the game"] * 20,
        vocab_size=300,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
    )
    bpe.save_model(str(folder))
    labels = {0: "negative", 1: "neutral", 2: "positive"}
    config = RobertaConfig(
        vocab_size=300,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=130,
        num_labels=3,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    RobertaForSequenceClassification(config).save_pretrained(folder)
    (folder / "special_tokens_map.json").write_text(
        json.dumps(
            {
                "bos_token": "<s>",
                "eos_token": "</s>",
                "unk_token": "<unk>",
                "sep_token": "</s>",
                "pad_token": "<pad>",
                "cls_token": "<s>",
                "mask_token": "<mask>",
            }
        )
    )
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_the_pinned_revisions_file_layout_downloads_and_loads(hub, tmp_path):
    files = cardiffnlp_layout(tmp_path / "layout")
    assert sorted(files) == ["config.json", "merges.txt", "model.safetensors", "special_tokens_map.json", "vocab.json"]
    hub.repos[DEFAULT_MODEL] = files
    folder = fetch()
    assert sorted(json.loads((folder / MANIFEST).read_text())["files"]) == sorted(files)
    backend, notice = load_with_fallback("auto")
    assert notice is None and backend.name == "transformers"
    results = backend.classify([ChatText("good game"), ChatText("OMEGALUL @someone https://x.y")])
    assert [r.label in ("negative", "neutral", "positive") and -1 <= r.score <= 1 for r in results] == [True, True]
