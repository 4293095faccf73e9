"""Benchmark the chat path: messages per second one worker sustains, per sentiment backend.

    .venv/bin/python -m bench.chat [--speed 200] [--model FOLDER_OR_ID] [--roberta-base]

Two stages, both on the real #xqcow log (4,933 messages, 7.7 minutes):
1. **ingest**: the demo Twitch IRC server replays the log `--speed` times faster than real time on
   loopback; one `TwitchChatClient` parses every line into a `ChatBuffer`. Reported: messages per
   second received while the replay ran.
2. **features**: the log is cut into 10 s windows, and one `SegmentFeaturizer` computes the chat
   group (sentiment of every message, hype, copy-pasta) window after window, as fast as it can,
   with the sentiment running through `ChatSentiment` on a `ModelWorker` thread exactly as the
   server does. Reported per backend: messages per second and seconds per 10 s window.

The transformers backend needs weights. Without `--model` (the default model cannot be
downloaded here) it uses a tiny model trained inside the bench, which measures the plumbing but
not a real model's cost; `--roberta-base` instead builds a randomly initialised model of the
default model's size (RoBERTa-base, 125 M parameters, the cardiffnlp architecture) with a word-
level tokenizer over the log's words: its labels are meaningless, its cost is a real model's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from metamodel import load_metamodel
from server.chat.buffer import ChatBuffer
from server.chat.client import TwitchChatClient
from server.chat.logs import read_chat_file
from server.chat.sentiment.service import ChatSentiment
from server.demo.irc_server import DEFAULT_LOG, TwitchIRCServer
from server.features import SegmentFeaturizer
from server.inference import ModelWorker
from server.scoring import reaction_window, score_window

WINDOW_S = 10.0


def bench_ingest(log: Path, speed: float) -> tuple[int, float]:
    """(messages received, seconds) for one client reading a loopback replay at `speed`."""
    server = TwitchIRCServer(log, speed=speed, loop=False)
    server.start()
    client = TwitchChatClient("bench", ChatBuffer(), host="127.0.0.1", port=server.port, tls=False)
    try:
        started = time.monotonic()
        client.start()
        expected = len(read_chat_file(log).messages) + 133  # every PRIVMSG, before moderation
        last, last_change = -1, time.monotonic()
        while time.monotonic() - last_change < 2.0:  # until the replay has been quiet for 2 s
            if client.messages_received != last:
                last, last_change = client.messages_received, time.monotonic()
            if last >= expected:
                break
            time.sleep(0.01)
        return client.messages_received, last_change - started
    finally:
        client.stop()
        server.stop()


def bench_features(
    log: Path, sentiment: ChatSentiment | None, max_messages: int | None = None, max_windows: int | None = None
) -> tuple[int, float, int, float]:
    """(messages, seconds, windows, CPU-seconds of the whole process) for the log's chat features.

    `max_messages` caps the messages classified per window (the server's sample); the messages
    counted are all of the window's, since that is the chat the worker keeps up with.
    """
    chat = read_chat_file(log)
    featurizer = SegmentFeaturizer(sentiment=sentiment.classify if sentiment else None, sentiment_max=max_messages)
    t0, end = chat.video_start, chat.messages[-1].ts
    windows = []
    start = t0
    while start <= end:
        lo, hi = reaction_window(start)
        windows.append(([m for m in chat.messages if lo <= m.ts < hi], [e for e in chat.events if lo <= e.ts < hi]))
        start += WINDOW_S
    windows = windows[:max_windows]
    model = load_metamodel()
    started, cpu = time.perf_counter(), time.process_time()  # process time includes the model thread
    for messages, events in windows:
        score_window(featurizer, model, None, messages, events)  # the server's pipeline, chat alone
    return sum(len(m) for m, _ in windows), time.perf_counter() - started, len(windows), time.process_time() - cpu


def roberta_base_folder(log: Path, folder: Path, pieces: int = 0) -> Path:
    """A random RoBERTa-base-sized classifier with a word-level tokenizer over the log's words.

    `pieces` > 0 cuts every word into pieces of that many characters instead (`OMEGALUL` ->
    `OME GAL UL`), a pessimistic stand-in for the real model's BPE, whose vocabulary cannot be
    downloaded here: BPE keeps common English words whole and splits emotes into a few pieces.
    """
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, RobertaConfig, RobertaForSequenceClassification

    words = sorted({w for m in read_chat_file(log).messages for w in m.text.split()})
    if pieces:
        words = sorted({w[i : i + pieces] for w in words for i in range(0, len(w), pieces)})
    specials = ["<pad>", "<unk>", "<s>", "</s>", "<mask>"]
    vocab = {w: i for i, w in enumerate(specials + words)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    if pieces:
        core.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(f".{{1,{pieces}}}"), behavior="isolated")]
        )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        mask_token="<mask>",
    )
    labels = {0: "negative", 1: "neutral", 2: "positive"}
    config = RobertaConfig(
        vocab_size=len(vocab), num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()}, pad_token_id=0
    )
    RobertaForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def cost_per_length(
    sentiment: ChatSentiment, log: Path, lengths=(8, 16, 24, 32, 48, 64), messages: int = 50, repeat: int = 3
) -> list[tuple[int, float]]:
    """CPU-ms per message for messages of exactly n tokens (n - 2 words + <s> and </s>), best of `repeat`.

    The word-level tokenizer of the random model makes one token per word, so this measures the
    model's cost at the token counts a real BPE tokenizer would give (docs/benchmarks.md).
    """
    import random

    from server.chat.sentiment import ChatText

    words = sorted({w for m in read_chat_file(log).messages for w in m.text.split()})
    rng = random.Random(0)
    out = []
    for n in lengths:
        batch = [ChatText(" ".join(rng.choices(words, k=n - 2))) for _ in range(messages)]
        best = float("inf")
        for _ in range(repeat):
            cpu = time.process_time()
            sentiment.classify(batch)
            best = min(best, time.process_time() - cpu)
        out.append((n, best / messages * 1000))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG)
    parser.add_argument("--speed", type=float, default=200.0, help="replay speed-up for the ingest stage")
    parser.add_argument("--model", help="transformers model folder or id (default: a tiny model built here)")
    parser.add_argument("--roberta-base", action="store_true", help="a random RoBERTa-base-sized model instead")
    parser.add_argument(
        "--pieces",
        type=int,
        default=0,
        help="--roberta-base: cut words into pieces of N characters (a stand-in for BPE)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="texts per forward pass (default: the backend's, 8 on a CPU)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (the server's MODEL_THREADS)")
    parser.add_argument("--max-messages", type=int, default=20, help="the server's CHAT_SENTIMENT_MAX_MESSAGES")
    parser.add_argument("--windows", type=int, default=None, help="only the first N windows (a big model is slow)")
    args = parser.parse_args()

    received, seconds = bench_ingest(args.log, args.speed)
    print(
        f"ingest      {received} messages in {seconds:.2f} s = {received / seconds:,.0f} msg/s "
        f"(replay at {args.speed:g}x real time; real time is ~10.6 msg/s)"
    )

    n, seconds, windows, _ = bench_features(args.log, ChatSentiment("lexicon"))
    print(
        f"lexicon     {n} messages in {seconds:.2f} s = {n / seconds:,.0f} msg/s, "
        f"{seconds / windows * 1000:.1f} ms per 10 s window ({windows} windows)"
    )

    import torch

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            model, what = args.model, args.model
        elif args.roberta_base:
            model = str(roberta_base_folder(args.log, Path(tmp) / "roberta", args.pieces))
            what = "random RoBERTa-base-sized model" + (
                f", words cut into {args.pieces}-char pieces" if args.pieces else ""
            )
        else:
            from server.chat.sentiment.tiny import build_tiny_model

            model, what = (
                str(build_tiny_model(Path(tmp) / "tiny")),
                "tiny 1-layer model built here (not a real model's cost)",
            )
        worker = ModelWorker()
        try:
            sentiment = ChatSentiment("transformers", model, worker, background=False)
            if sentiment.active != "transformers":
                sys.exit(f"transformers backend unavailable: {sentiment.notice}")
            if args.batch_size:
                sentiment._backend.batch_size = args.batch_size
            runs = [(None, args.windows), (args.max_messages, args.windows)]
            results = [(cap, *bench_features(args.log, sentiment, cap, limit)) for cap, limit in runs]
            if args.roberta_base and not args.pieces:
                per_length = cost_per_length(sentiment, args.log)
        finally:
            worker.stop()
    print(f"transformers: {what}, {args.threads} torch thread(s), batches of {args.batch_size or 'the default'}")
    if args.roberta_base and not args.pieces:
        print(
            "  CPU per message by length (50 messages of exactly that many tokens, one call, as one segment's sample):"
        )
        for tokens, ms in per_length:
            print(f"    {tokens:>3} tokens: {ms:.1f} CPU-ms per message")
    for cap, n, seconds, windows, cpu in results:
        how = "every message" if cap is None else f"at most {cap} classified per window"
        print(
            f"  {how:<36} {n} messages in {seconds:.2f} s = {n / seconds:,.0f} msg/s, "
            f"{seconds / windows * 1000:.0f} ms per 10 s window, {cpu / windows:.2f} CPU-s per window "
            f"({windows} windows)"
        )


if __name__ == "__main__":
    main()
