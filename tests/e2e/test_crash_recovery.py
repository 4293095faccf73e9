"""A processing server killed outright (SIGKILL: a crash, the OOM killer, a pulled plug) loses
nothing: the reports it had queued while the webapp was down arrive after the restart, the stream
goes on with new segments, and the killed server's ffmpeg processes do not outlive it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from processes import alive, children_named
from waiting import wait_for


def queued_segment_seqs(outbox: Path) -> set[int]:
    seqs = set()
    for entry in outbox.glob("*.json"):
        try:  # a report in flight as the webapp stopped may still be delivered (and its file deleted)
            message = json.loads(entry.read_text())
        except FileNotFoundError:
            continue
        seqs.update(s["seq"] for s in message["payload"].get("segments", []))
    return seqs


@pytest.mark.timeout(600)
def test_a_killed_server_resumes_and_delivers_what_it_had_queued(stack, visitor):
    visitor.sign_up(stack.webapp_url, "carol")
    stream_id = visitor.add_stream(stack.webapp_url, "demo_channel")
    status_url = f"{stack.webapp_url}/streams/{stream_id}/status.json"
    assert wait_for(lambda: visitor.get(status_url).json()["segments"], timeout=120, step=1.0), stack.log_of("server")[
        -3000:
    ]

    stack.stop_part("webapp")
    outbox = stack.workdir / "server" / "outbox"
    queued = wait_for(lambda: queued_segment_seqs(outbox), timeout=60, step=0.5)
    assert queued, "with the webapp down, segment reports wait in the outbox on disk"

    server_pid = stack.processes["server"].pid
    ffmpegs = children_named(server_pid, "ffmpeg")
    assert ffmpegs, "the live job runs ffmpeg"
    stack.stop_part("server", kill=True)
    assert wait_for(lambda: not any(alive(pid) for pid in ffmpegs), timeout=30), (
        "ffmpeg ends with the server that fed it, even one that had no chance to clean up"
    )

    stack.start_part("webapp")
    stack.start_part("server")
    seqs = lambda: {s["seq"] for s in visitor.get(status_url).json()["segments"]}  # noqa: E731
    assert wait_for(lambda: queued <= seqs(), timeout=60, step=1.0), (
        f"queued before the kill: {sorted(queued)}, in the webapp: {sorted(seqs())}"
    )
    newest = max(seqs())
    assert wait_for(
        lambda: max(seqs()) > newest and visitor.get(status_url).json()["state"] == "live", timeout=120, step=1.0
    ), stack.log_of("server")[-3000:]
    jobs = requests.get(f"{stack.server_url}/api/v1/jobs", headers=stack.server_auth).json()["jobs"]
    assert [j["stream_id"] for j in jobs] == [int(stream_id)]
