"""The install step that fetches the models the server uses when it can: the PANNs Cnn14 checkpoint
(Zenodo, 327 MB) and the chat sentiment model (Hugging Face hub, ~503 MB), each once.

    .venv/bin/python scripts/fetch_models.py      # run by scripts/install.sh, so by run.sh

For each model it prints one line: what it fetched, that it was already there (verified, no
network), or "not fetched: <reason>, the server runs without it". It never fails the install: a
machine offline, a hub that is down or a full disk only leave that model out, and the server says
so on every stream ("audio tagging off: no checkpoint", "chat sentiment: lexicon (...)").
`HIGHLIGHTS_NO_DOWNLOADS=1` skips it; with `CI=true` it gives up on a host after a short connect
timeout and one retry, so a CI run without network loses seconds, not minutes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appconfig import as_bool
from downloads import DownloadError
from panns.download import CHECKPOINTS, CheckpointFile, cache_path
from panns.download import download as download_panns
from server.chat.sentiment.download import DEFAULT_MODEL, DEFAULT_REVISION, MANIFEST, model_dir
from server.chat.sentiment.download import download as download_sentiment

WITHOUT = {"panns": "audio tagging off", "sentiment": "chat sentiment by the lexicon"}


def main(argv: list[str] | None = None, out: TextIO = sys.stdout, panns_spec: CheckpointFile | None = None) -> int:
    """Fetch both models; always 0. `panns_spec` replaces the published Cnn14 entry (tests)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if as_bool(os.environ.get("HIGHLIGHTS_NO_DOWNLOADS", "")):
        out.write("== models: not fetched (HIGHLIGHTS_NO_DOWNLOADS is set); the server runs without them\n")
        return 0
    ci = as_bool(os.environ.get("CI", ""))
    options = {
        "retries": 1 if ci else 3,
        "connect_timeout_s": 3.0 if ci else 10.0,
        "progress": not args.quiet,
        "backoff_s": 1.0,
    }

    def panns() -> tuple[Path, bool]:
        spec = panns_spec or CHECKPOINTS["Cnn14"]
        before = _stamp(cache_path("Cnn14").with_name(spec.file))
        path = download_panns("Cnn14", source=panns_spec, timeout_s=60.0, **options)
        return path, before is not None and before == _stamp(path)

    def sentiment() -> tuple[Path, bool]:
        before = _stamp(model_dir(DEFAULT_MODEL) / MANIFEST)
        folder = download_sentiment(DEFAULT_MODEL, DEFAULT_REVISION, **options)
        return folder, before is not None and before == _stamp(folder / MANIFEST)

    _one(out, "panns", f"PANNs Cnn14 checkpoint ({(panns_spec or CHECKPOINTS['Cnn14']).file})", panns)
    _one(out, "sentiment", f"chat sentiment model {DEFAULT_MODEL}@{DEFAULT_REVISION[:7]}", sentiment)
    return 0


def _stamp(path: Path) -> tuple[int, int] | None:
    """Inode and mtime: unchanged across a download = the verified file in place was kept."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _one(out: TextIO, key: str, what: str, fetch: Callable[[], tuple[Path, bool]]) -> None:
    out.write(f"== models: {what}\n")
    out.flush()
    started = time.monotonic()
    try:
        path, was_there = fetch()
    except DownloadError as exc:
        out.write(f"   not fetched: {exc}; the server runs without it ({WITHOUT[key]})\n")
        return
    except OSError as exc:  # a full or read-only disk must not fail the install either
        out.write(f"   not fetched: {exc}; the server runs without it ({WITHOUT[key]})\n")
        return
    size = sum(p.stat().st_size for p in ([path] if path.is_file() else path.iterdir()) if p.is_file())
    how = "already present, verified" if was_there else f"fetched in {time.monotonic() - started:.0f} s"
    out.write(f"   {how}: {size / 1e6:.1f} MB in {path}\n")


if __name__ == "__main__":
    sys.exit(main())
