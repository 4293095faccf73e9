"""Fixtures for the server tests: both storage backends, running on loopback."""

from __future__ import annotations

import pytest

from storage_backends import make_backend


@pytest.fixture(params=["local", "gcs"])
def backend(request, tmp_path):
    """Each storage backend in turn: a served local folder, and a bucket in gcp-storage-emulator."""
    running = make_backend(request.param, tmp_path)
    yield running
    running.close()


@pytest.fixture
def gcs(tmp_path):
    running = make_backend("gcs", tmp_path)
    yield running
    running.close()
