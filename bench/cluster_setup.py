"""`bench.streams --workers K`: the processing server in cluster mode on this machine.

A Dask scheduler and K stream workers (`python -m server.worker`), each its own process on
loopback, and a GCS emulator (cluster mode stores clips in GCS, docs/scaling.md), started the way
docs/scaling.md tells an operator to. The server and every worker get the same settings (the
stack's, plus what `env()` adds); the bench counts the CPU of the server, the scheduler and the
workers with all their ffmpeg children (`pids()`).
"""

from __future__ import annotations

import logging
import math
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from appconfig import ROOT
from server.demo.stack import HOST, free_port

BUCKET = "highlights-bench"
JOIN_TIMEOUT_S = 180.0  # each worker imports torch and loads its models before it joins


class BenchCluster:
    def __init__(self, workdir: Path, workers: int, streams: int):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workdir, self.workers = workdir, workers
        self.slots = max(1, math.ceil(streams / workers))  # each worker's share of the streams
        self.address = f"tcp://{HOST}:{free_port()}"
        self.processes: dict[str, subprocess.Popen] = {}
        self._emulator: Any = None  # gcp_storage_emulator's server (untyped)
        self._emulator_host = ""

    def env(self) -> dict[str, str]:
        """What the server and the workers add to the stack's settings for cluster mode."""
        return {
            "EXECUTOR": "dask",
            "DASK_SCHEDULER": self.address,
            "STORAGE_BACKEND": "gcs",
            "GCS_BUCKET": BUCKET,
            "STORAGE_EMULATOR_HOST": self._emulator_host,
        }

    def start_storage(self) -> None:
        """The GCS emulator, in this process (its CPU is the storage service's, not the server's)."""
        from gcp_storage_emulator.server import create_server

        logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)  # it warns on every response
        port = free_port()
        self._emulator = create_server(HOST, port, in_memory=True, default_bucket=BUCKET)
        self._emulator.start()
        self._emulator_host = f"http://{HOST}:{port}"

    def start(self, env: dict[str, str]) -> None:
        """The scheduler and the workers, with `env` (the server's settings, including env())."""
        port = self.address.rsplit(":", 1)[1]
        clean = {k: v for k, v in env.items() if not k.startswith("DASK_") or k == "DASK_SCHEDULER"}
        self._spawn(
            "scheduler",
            ["-m", "distributed.cli.dask_scheduler", "--host", HOST, "--port", port, "--no-dashboard"],
            clean,
        )
        for i in range(1, self.workers + 1):
            name = f"worker{i}"
            self._spawn(
                name,
                ["-m", "server.worker", "--scheduler", self.address, "--streams", str(self.slots)]
                + ["--data-dir", str(self.workdir / name), "--host", HOST, "--name", name],
                clean,
            )

    def wait_joined(self, server_url: str) -> None:
        """Until the server's /healthz counts every worker."""
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{self.log_of(name)[-3000:]}")
            try:
                if requests.get(f"{server_url}/healthz", timeout=2).json().get("workers") == self.workers:
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"not all {self.workers} workers joined in {JOIN_TIMEOUT_S:.0f} s")

    def pids(self) -> list[int]:
        return [process.pid for process in self.processes.values()]

    def log_of(self, name: str) -> str:
        path = self.workdir / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM the workers first (their streams stop), then the scheduler; SIGKILL after 30 s."""
        for name in reversed(list(self.processes)):
            process = self.processes.pop(name)
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        with open(self.workdir / "logs" / f"{name}.log", "ab") as out:
            self.processes[name] = subprocess.Popen(
                [sys.executable, *args], env={**env, "PYTHONUNBUFFERED": "1"}, cwd=ROOT, stdout=out, stderr=out
            )


def cpu_pids(server_pid: int, cluster: BenchCluster | None) -> list[int]:
    """The process trees whose CPU a run costs: the server's, and in cluster mode the scheduler's
    and every worker's."""
    return [server_pid, *(cluster.pids() if cluster else [])]
