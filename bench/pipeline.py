"""Benchmark the live pipeline on the demo stream: CPU cost per 10 s segment and latency.

    .venv/bin/python -m bench.pipeline [--segments 12]

Starts the whole stack (webapp, server, demo channel) as real processes on free ports, adds the
demo channel through the webapp like a user, and measures while it runs:
- CPU-seconds per 10 s segment of the processing server including its ffmpeg children;
- the same divided by the CPU cost of merely decoding that much video with ffmpeg, measured in
  the same run (machine-independent: "the pipeline costs N decodes");
- seconds from a segment's end (its end_utc) to its row appearing in the webapp.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

import requests

from bench.callback import epoch_of
from bench.procs import cpu_seconds, decode_cpu_seconds
from server.demo.segments import prepare_segments
from server.demo.stack import ROOT, Stack, free_port


def decode_baseline(seconds: float = 10.0) -> float:
    """CPU-seconds ffmpeg needs to decode `seconds` of the demo video (audio + video), once."""
    segments = prepare_segments(ROOT / "var" / "demo" / "segments")
    return decode_cpu_seconds(segments[: int(seconds // 2)])


def add_demo_stream(stack: Stack) -> tuple[requests.Session, str]:
    user = requests.Session()

    def post(url: str, data: dict) -> requests.Response:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', user.get(url).text).group(1)
        return user.post(url, data={**data, "csrfmiddlewaretoken": token}, headers={"Referer": url})

    post(
        f"{stack.webapp_url}/accounts/signup/",
        {"username": "bench", "password1": "bench-pass-4242", "password2": "bench-pass-4242"},
    )
    page = post(f"{stack.webapp_url}/", {"source": "demo_channel", "chat_channel": ""})
    stream_id = re.search(r'href="/streams/(\d+)/"', page.text).group(1)
    return user, f"{stack.webapp_url}/streams/{stream_id}/status.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--segments", type=int, default=12, help="segments to measure (10 s each)")
    args = parser.parse_args()
    baseline = statistics.median(decode_baseline() for _ in range(3))
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp), free_port(), free_port(), free_port(), free_port())
        stack.start()
        try:
            user, status_url = add_demo_stream(stack)
            server_pid = stack.processes["server"].pid
            seen: dict[int, float] = {}
            cpu_first = None
            while len(seen) < args.segments + 1:
                rows = user.get(status_url).json().get("segments", [])
                now = time.time()
                for row in rows:
                    if row["seq"] not in seen:
                        seen[row["seq"]] = now - epoch_of(row["end_utc"])
                        if cpu_first is None:
                            cpu_first = cpu_seconds(server_pid)  # start counting once live
                        print(
                            f"segment {row['seq']:3d}: score {row['score']:.3f}, in the webapp {seen[row['seq']]:.2f} s after its end",
                            flush=True,
                        )
                time.sleep(0.25)
            cpu = cpu_seconds(server_pid) - cpu_first
            highlights = len(user.get(status_url).json().get("highlights", []))
        finally:
            stack.stop()
    latencies = [seen[s] for s in sorted(seen)[1:]]
    per_segment = cpu / args.segments
    print(f"\nsegments measured: {args.segments}, highlights: {highlights}")
    print(f"server CPU (incl. ffmpeg): {per_segment:.3f} CPU-s per 10 s segment")
    print(f"ffmpeg decode baseline:    {baseline:.3f} CPU-s per 10 s of the same video")
    print(f"ratio to baseline:         {per_segment / baseline:.2f}x")
    print(
        f"segment end -> webapp row: median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s "
        f"(includes CHAT_LAG_S=4 s by design)"
    )


if __name__ == "__main__":
    main()
