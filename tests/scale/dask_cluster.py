"""A real Dask cluster on loopback for the cluster-mode tests: a `distributed` scheduler and stream
workers (`python -m server.worker`), each its own process bound to 127.0.0.1, reading their
settings from the environment as a machine of a real cluster reads them from config.py."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from server_app import AUTH
from waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_env(config: dict) -> dict[str, str]:
    """Server settings as environment variables (lists comma-separated, appconfig.as_list)."""
    env = {}
    for name, value in config.items():
        if value is None:
            continue
        env[name] = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return env


class Cluster:
    def __init__(self, folder: Path, settings: dict):
        self.folder = folder
        self.settings = settings
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler: subprocess.Popen | None = None
        self.workers: dict[str, subprocess.Popen] = {}
        self._logs: list = []

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "ab")  # closed in stop()
        self._logs.append(log)
        # Hermetic: Dask reads DASK_* variables and ~/.config/dask; none of a developer's may apply.
        clean = {name: value for name, value in os.environ.items() if not name.startswith("DASK_")}
        clean["DASK_CONFIG"] = str(self.folder / "dask-config")
        return subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**clean, **(env or {})}
        )

    def start_scheduler(self) -> None:
        self.scheduler = self._spawn(
            "scheduler",
            ["-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"],
        )

    def kill_scheduler(self) -> None:
        assert self.scheduler is not None
        self.scheduler.kill()
        self.scheduler.wait(10)

    def start_worker(self, name: str, streams: int = 2, models: bool = False) -> subprocess.Popen:
        """A `server.worker` process: a stream worker, or with `models` the model service."""
        data = self.folder / name
        self.workers[name] = self._spawn(
            name,
            ["-m", "server.worker", "--scheduler", self.address, "--streams", str(streams)]
            + ["--data-dir", str(data), "--host", "127.0.0.1", "--name", name]
            + (["--models"] if models else []),
            as_env(self.settings),
        )
        return self.workers[name]

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        processes = [*self.workers.values(), *([self.scheduler] if self.scheduler else [])]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for log in self._logs:
            log.close()

    def wait_ready(self, health, workers: int, timeout: float = 120) -> None:
        """Until the server sees the scheduler and `workers` workers (each imports torch: slow on CI)."""
        ready = wait_for(lambda: health().get("workers") == workers, timeout=timeout, step=0.5)
        assert ready, (health(), self.log("scheduler"), *(self.log(n) for n in self.workers))


@contextmanager
def cluster_server(tmp_path, cluster: Cluster, settings: dict, workers: int):
    """The processing server in cluster mode on `cluster`, once `workers` workers joined; its jobs
    are deleted (their streams stop on their workers) before it shuts down."""
    from server.app import create_app, shutdown

    app = create_app(
        {
            **settings,
            "DATA_DIR": tmp_path / "server-data",
            "MEDIA_ROOT": tmp_path / "media",
            "EXECUTOR": "dask",
            "DASK_SCHEDULER": cluster.address,
        }
    )
    client = app.test_client()
    cluster.wait_ready(lambda: client.get("/healthz").get_json(), workers=workers)
    try:
        yield app
    finally:
        jobs = client.get("/api/v1/jobs", headers=AUTH).get_json()["jobs"]
        for job in jobs:  # the streams stop on their workers before the cluster does
            client.delete(f"/api/v1/jobs/{job['stream_id']}", headers=AUTH)
        shutdown(app)
