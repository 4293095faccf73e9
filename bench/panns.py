"""Benchmark the PANNs tagger: CPU-seconds per 10 s segment, and what each optimisation buys.

    .venv/bin/python -m bench.panns [--models Cnn14 Cnn10] [--repeat 3] [--batch 8]

Random weights (the official ones cannot be fetched here; speed does not depend on the values),
real audio: 10 s segments of the demo clips, resampled to 32 kHz. Steps, each on top of the last:
  baseline        torch.no_grad(), torch's default threads, batch 1 (the naive way)
  inference_mode  torch.inference_mode() instead of no_grad (no version counters / views)
  channels_last   the conv stack's weights and input in NHWC memory layout
  threads=1       torch.set_num_threads(1): CPU-seconds per segment, not wall time, is the budget
  batch=N         N segments of different streams in one forward pass (the ModelWorker's batches)
Each row gives CPU-seconds (process time, all threads) and wall seconds per segment, and the ratio
to the baseline measured in the same process, so the ratios hold on other machines too.
The cascade (AUDIO_TAG_CANDIDATES_ONLY) tags only a share of the segments; the tagger's cost
scales by that share, which `python -m bench.cascade` measures.
"""

from __future__ import annotations

import argparse
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from panns.model import build
from server import media
from server.features.audio_tags import resample_to_model_rate

CLIPS = [
    Path(__file__).resolve().parent.parent / "server" / "demo" / "media" / n
    for n in ("seed-lobby.mp4", "seed-gameplay.mp4")
]


def real_segments(count: int) -> list[np.ndarray]:
    starts = [(clip, s) for s in range(0, 50, 10) for clip in CLIPS][:count]
    return [
        resample_to_model_rate(media.decode_audio(clip, float(s), 10.0), media.AUDIO_RATE)[:320_000]
        for clip, s in starts
    ]


def measure(model, segments: list[np.ndarray], batch: int, repeat: int, inference: bool) -> tuple[float, float]:
    """(CPU-seconds, wall seconds) per segment, after one warm-up pass."""
    mode = torch.inference_mode if inference else torch.no_grad
    batches = [torch.from_numpy(np.stack(segments[i : i + batch])) for i in range(0, len(segments), batch)]
    with mode():
        model(batches[0])  # warm-up: allocator, oneDNN kernels
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(repeat):
            for x in batches:
                model(x)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    n = repeat * sum(len(x) for x in batches)
    return cpu / n, wall / n


def bench_model(name: str, segments: list[np.ndarray], repeat: int, batch: int, default_threads: int) -> list[tuple]:
    rows = []
    model = build(name)
    torch.set_num_threads(default_threads)
    steps = [
        ("baseline (no_grad, batch 1)", {"batch": 1, "inference": False}, nullcontext),
        ("+ inference_mode", {"batch": 1, "inference": True}, nullcontext),
        ("+ channels_last", {"batch": 1, "inference": True}, "channels_last"),
        ("+ threads=1", {"batch": 1, "inference": True}, "threads1"),
        (f"+ batch={batch}", {"batch": batch, "inference": True}, "batch"),
    ]
    base = None
    for label, kwargs, change in steps:
        if change == "channels_last":
            model = model.to(memory_format=torch.channels_last)
        if change == "threads1":
            torch.set_num_threads(1)
        n_segments = len(segments) if kwargs["batch"] > 1 else max(2, len(segments) // 4)
        cpu, wall = measure(model, segments[:n_segments], kwargs["batch"], repeat, kwargs["inference"])
        base = base or cpu
        rows.append((name, label, cpu, wall, cpu / base))
        print(f"{name:6} {label:30} {cpu:6.3f} CPU-s/seg {wall:6.3f} wall-s/seg  x{cpu / base:.2f}", flush=True)
    # And without channels_last at threads=1, batch N: is channels_last still a gain there?
    plain = build(name)
    cpu, wall = measure(plain, segments, batch, repeat, True)
    rows.append((name, f"batch={batch}, threads=1, no channels_last", cpu, wall, cpu / base))
    print(f"{name:6} {rows[-1][1]:30} {cpu:6.3f} CPU-s/seg {wall:6.3f} wall-s/seg  x{cpu / base:.2f}", flush=True)
    torch.set_num_threads(default_threads)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["Cnn14", "Cnn10"])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    segments = real_segments(args.batch)
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} threads by default, {len(segments)} real 10 s segments")
    rows = []
    for name in args.models:
        rows += bench_model(name, segments, args.repeat, args.batch, threads)
    print("\n| model | step | CPU-s / 10 s segment | wall-s / segment | x baseline CPU |\n|---|---|---|---|---|")
    for name, label, cpu, wall, ratio in rows:
        print(f"| {name} | {label} | {cpu:.3f} | {wall:.3f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
