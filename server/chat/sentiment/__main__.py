"""`python -m server.chat.sentiment [--backend lexicon|transformers] [--model ID_OR_FOLDER]`

Reads chat messages from stdin, one per line, and prints one JSON object per line:
``{"label": "positive|neutral|negative", "score": <valence in -1..1>}``. Lines are classified
in batches of --batch, so the transformers backend runs batched here too.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import TextIO

from appconfig import setting
from server.chat.sentiment import BACKENDS, ChatText, SentimentError, load_backend


def _batches(stream: TextIO, size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in stream:
        batch.append(line.rstrip("\r\n"))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def cli(argv: list[str] | None = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.chat.sentiment", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=BACKENDS, default=setting("CHAT_SENTIMENT_BACKEND", "lexicon"))
    parser.add_argument("--model", default=setting("CHAT_SENTIMENT_MODEL", None),
                        help="transformers model id or local folder (default: CHAT_SENTIMENT_MODEL)")
    parser.add_argument("--batch", type=int, default=64, help="lines per batch (default 64)")
    args = parser.parse_args(argv)
    if args.batch < 1:
        parser.error("--batch must be >= 1")
    try:
        backend = load_backend(args.backend, args.model)
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
