"""Command line: `python -m panns download [--model Cnn14]`, `python -m panns tag AUDIO ...`."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from panns.audio import AudioError, is_silent, load_audio
from panns.checkpoint import CheckpointError, load_model
from panns.download import CHECKPOINTS, DownloadError, cache_dir, cache_path, download
from panns.model import DIMS
from panns.tagging import tag, top_labels


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return args.run(args)
    except (CheckpointError, AudioError, DownloadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _download(args: argparse.Namespace) -> int:
    path = download(args.model)
    print(path)
    return 0


def _tag(args: argparse.Namespace) -> int:
    checkpoint = args.checkpoint or cache_path(args.model)
    model = load_model(checkpoint, args.model)  # first: a missing checkpoint is the likelier mistake
    samples = load_audio(args.audio)
    if is_silent(samples):
        raise AudioError(f"{args.audio} is silent (peak below -80 dBFS): nothing to tag")
    results = top_labels(tag(model, [samples])[0], args.top)
    if args.json:
        print(json.dumps({"labels": results}))
    else:
        for row in results:
            print(f"{row['probability']:.3f}  {row['label']}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m panns", description="PANNs audio tagging (AudioSet, 527 classes)")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    fetch = sub.add_parser("download", help=f"fetch an official checkpoint into {cache_dir()} ($PANNS_CACHE)")
    fetch.add_argument("--model", choices=sorted(CHECKPOINTS), default="Cnn14")
    fetch.set_defaults(run=_download)
    run = sub.add_parser("tag", help="tag an audio or video file (anything ffmpeg reads)")
    run.add_argument("audio", metavar="AUDIO")
    run.add_argument("--model", choices=sorted(DIMS), default="Cnn14")
    run.add_argument("--checkpoint", help="checkpoint file (default: the cached download of --model)")
    run.add_argument("--top", type=_positive, default=10, help="how many classes to print (default 10)")
    run.add_argument("--json", action="store_true", help='print {"labels": [{"index", "label", "probability"}]}')
    run.set_defaults(run=_tag)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


if __name__ == "__main__":
    sys.exit(main())
