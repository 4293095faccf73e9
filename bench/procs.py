"""What a process tree costs, read from /proc (Linux): CPU-seconds, resident memory, and the
machine-independent yardstick the benchmarks divide by (ffmpeg merely decoding the same video)."""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Sequence
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def tree(pid: int) -> list[int]:
    """`pid` and every live descendant (the server's ffmpeg children, and theirs)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def cpu_seconds(pid: int) -> float:
    """CPU-seconds (user + system) `pid` and its descendants have used so far: each live process's
    own time plus that of its children it has reaped (an ffmpeg run per segment ends and is
    reaped, so its time moves into the server's cutime/cstime and is still counted once)."""
    ticks = 0
    for member in tree(pid):
        fields = _stat(member)
        if fields is not None:
            ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / CLK_TCK


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and its live descendants now, in MB (10^6 bytes)."""
    pages = 0
    for member in tree(pid):
        fields = _stat(member)
        if fields is not None:
            pages += int(fields[21])  # rss, in pages
    return pages * PAGE_BYTES / 1e6


def decode_cpu_seconds(files: Sequence[Path]) -> float:
    """CPU-seconds ffmpeg needs to decode `files` (MPEG-TS segments played in order: audio and
    video, nothing written), measured from its rusage."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", "concat:" + "|".join(map(str, files)), "-f", "null", "-"],
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
