"""Fixtures for cluster mode: the processing server app with EXECUTOR = "dask", a scheduler and two
stream workers as separate processes on loopback, clips in gcp-storage-emulator (cluster mode
refuses local storage), the demo HLS channel and the recording webapp stub."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The server tests' helpers: their settings for a fast live job, and the GCS emulator on loopback.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "server"))

from dask_cluster import Cluster, cluster_server
from server_app import fast_config
from storage_backends import BUCKET, make_backend


@pytest.fixture
def gcs(tmp_path):
    running = make_backend("gcs", tmp_path)
    yield running
    running.close()


@pytest.fixture
def cluster_settings(tmp_path, hls_server, gcs) -> dict:
    """What the server and every worker read: the tests' fast live job, clips to the emulator."""
    settings = fast_config(
        tmp_path,
        hls_server,
        STORAGE_BACKEND="gcs",
        GCS_BUCKET=BUCKET,
        STORAGE_EMULATOR_HOST=gcs.host,
        GCS_RETRY_DEADLINE_S=1.0,
        STORAGE_RETRY_MAX_S=1.0,
    )
    for name in ("DATA_DIR", "MEDIA_ROOT"):  # each process has its own
        settings.pop(name)
    return settings


@pytest.fixture
def cluster(tmp_path, cluster_settings):
    """A scheduler and workers w1, w2 (2 stream slots each), stopped (SIGTERM, then SIGKILL) at the end."""
    running = Cluster(tmp_path, cluster_settings)
    running.start_scheduler()
    running.start_worker("w1")
    running.start_worker("w2")
    yield running
    running.stop()


@pytest.fixture
def cluster_app(tmp_path, cluster, cluster_settings):
    """The processing server in cluster mode, once both workers joined the scheduler."""
    with cluster_server(tmp_path, cluster, cluster_settings, workers=2) as app:
        yield app
