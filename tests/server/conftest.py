"""Fixtures for the server tests: server apps, and both storage backends running on loopback."""

from __future__ import annotations

import pytest
from server_app import fast_config
from storage_backends import make_backend


@pytest.fixture
def make_app(tmp_path, hls_server):
    """Make processing-server apps on this test's DATA_DIR (call again to play a restart), with
    server_app.fast_config's settings plus `overrides`; every one is shut down at the end."""
    from server.app import create_app, shutdown

    apps = []

    def make(**overrides):
        app = create_app(fast_config(tmp_path, hls_server, **overrides))
        apps.append(app)
        return app

    yield make
    for app in apps:
        shutdown(app)  # harmless for an app the test already shut down


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
