"""The running jobs on disk (DATA_DIR/jobs.json), so a server restart picks them up again.

Each entry is a job's request plus its resume point: the next segment sequence number and the
stream offset it starts at, so a resumed job's (stream, seq) rows and highlight keys never clash
with what the webapp already has. The file is rewritten whole (durable.py: temp file, fsync, rename), so a crash
leaves either the old or the new version, never half of one.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from durable import write_atomically
from server.validation import JobRequest

log = logging.getLogger(__name__)

VERSION = 1


@dataclass(frozen=True)
class SavedJob:
    request: JobRequest
    next_seq: int = 0
    offset_s: float = 0.0


class JobStoreError(ValueError):
    """The jobs file is not what this module writes."""


def encode(jobs: list[SavedJob]) -> str:
    return json.dumps(
        {
            "version": VERSION,
            "jobs": [{**asdict(job.request), "next_seq": job.next_seq, "offset_s": job.offset_s} for job in jobs],
        },
        indent=1,
    )


def decode(text: str) -> list[SavedJob]:
    """Parse a jobs file; JobStoreError says what is wrong with it."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise JobStoreError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("jobs"), list):
        raise JobStoreError(f'expected {{"version": {VERSION}, "jobs": [...]}}')
    jobs = []
    for entry in data["jobs"]:
        try:
            per_hour = entry.get("per_hour")
            request = JobRequest(
                int(entry["stream_id"]),
                str(entry["source"]),
                str(entry["stream_url"]),
                entry.get("chat_channel"),
                str(entry["callback_base"]),
                None if per_hour is None else float(per_hour),
            )
            jobs.append(SavedJob(request, int(entry["next_seq"]), float(entry["offset_s"])))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise JobStoreError(f"bad job entry {entry!r}: {exc!r}") from exc
    return jobs


class JobStore:
    """Reads and atomically rewrites one jobs file. Not thread-safe: the JobManager holds a lock."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> list[SavedJob]:
        """The saved jobs; a corrupt file is logged, moved aside (jobs.json.bad-<time>) and counts as empty."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            return decode(text)
        except JobStoreError as exc:
            aside = self.path.with_name(f"{self.path.name}.bad-{time.strftime('%Y%m%dT%H%M%S')}")
            os.replace(self.path, aside)
            log.error("jobs file %s is corrupt (%s); moved it to %s, no jobs resumed", self.path, exc, aside.name)
            return []

    def save(self, jobs: list[SavedJob]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, encode(jobs))
