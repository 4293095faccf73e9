"""`python -m server.chat.sentiment [--backend auto|lexicon|transformers] [--model ID_OR_FOLDER]`

Reads chat messages from stdin, one per line, and prints one JSON object per line:
``{"label": "positive|neutral|negative", "score": <valence in -1..1>}``. Lines are classified
in batches of --batch, so the transformers backend runs batched here too.

`python -m server.chat.sentiment download [--model ID] [--revision SHA]` fetches the
transformers model into the cache (see `download.py`) and prints its folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import TextIO

from appconfig import setting
from server.chat.sentiment import BACKENDS, DEFAULT_BACKEND, ChatText, SentimentError, load_backend


def _batches(stream: TextIO, size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in stream:
        batch.append(line.rstrip("\r\n"))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def download_cli(argv: list[str], stdout: TextIO = sys.stdout) -> int:
    from downloads import DownloadError
    from server.chat.sentiment.download import DEFAULT_MODEL, DEFAULT_REVISION, download, model_dir

    parser = argparse.ArgumentParser(
        prog="python -m server.chat.sentiment download",
        description="fetch the transformers sentiment model from the Hugging Face hub "
        "($HF_ENDPOINT) into the cache ($HIGHLIGHTS_CACHE/sentiment)",
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"hub id (default {DEFAULT_MODEL})")
    parser.add_argument(
        "--revision",
        help=f"commit sha, branch or tag (default: {DEFAULT_REVISION[:12]}... for the default model, else main)",
    )
    parser.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to open a connection")
    parser.add_argument("--retries", type=int, default=4, help="retries of a failing file (default 4)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    try:
        folder = download(
            args.model,
            args.revision,
            retries=args.retries,
            connect_timeout_s=args.connect_timeout,
            progress=not args.quiet,
        )
    except DownloadError as exc:
        print(f"error: {exc} (nothing was left half-written in {model_dir(args.model)})", file=sys.stderr)
        return 1
    stdout.write(f"{folder}\n")
    return 0


def cli(argv: list[str] | None = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["download"]:
        return download_cli(argv[1:], stdout)
    parser = argparse.ArgumentParser(
        prog="python -m server.chat.sentiment",
        description=__doc__.split("\n")[0],
        epilog="python -m server.chat.sentiment download --help: fetch the model",
    )
    parser.add_argument("--backend", choices=BACKENDS, default=setting("CHAT_SENTIMENT_BACKEND", DEFAULT_BACKEND))
    parser.add_argument(
        "--model",
        default=setting("CHAT_SENTIMENT_MODEL", None),
        help="transformers model id or local folder (default: CHAT_SENTIMENT_MODEL)",
    )
    parser.add_argument("--batch", type=int, default=64, help="lines per batch (default 64)")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be >= 1")
    try:
        backend = load_backend(args.backend, args.model)  # "auto" without a downloaded model: the lexicon
    except SentimentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for batch in _batches(stdin, args.batch):
        for result in backend.classify([ChatText(text) for text in batch]):
            stdout.write(json.dumps(result.to_dict()) + "\n")
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(cli())
