"""Both storage backends as running things on loopback, for one shared test suite.

- local: a LocalStorage folder served by the server's real /media/ route (werkzeug on port 0).
- gcs: GCSStorage with the real google-cloud-storage client against gcp-storage-emulator, started
  in-process on 127.0.0.1 port 0 with the bucket created.

Each can be broken and repaired, to play a storage outage: the local folder's path turns into a
plain file (a disk error: nothing can be written under it); the emulator stops (connection
refused) and comes back on the same port.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

from server.storage import LocalStorage

BUCKET = "highlights-test"
logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)  # it warns on every response


class LocalBackend:
    name = "local"

    def __init__(self, tmp: Path):
        from server.app import _register_plain_routes  # the real /media/ route, without jobs

        self.root, self.data = tmp / "media", tmp / "media-data"
        self.data.mkdir()
        self._link_root()
        app = Flask("media-test")
        app.config["MEDIA_ROOT"] = self.root
        _register_plain_routes(app)
        self._httpd = make_server("127.0.0.1", 0, app, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_port}/media"
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def make(self) -> LocalStorage:
        return LocalStorage(self.root, self.base_url)

    def break_(self) -> None:
        broken = self.root.with_name("media-broken")
        broken.write_text("not a folder")
        os.replace(broken, self.root)

    def repair(self) -> None:
        self._link_root()

    def _link_root(self) -> None:
        # The folder lives beside `root`, which is a link to it (working) or a file (broken):
        # each swap is one atomic rename, so an upload retried meanwhile never finds the path
        # missing (it would make a fresh, empty folder there).
        link = self.root.with_name("media-link")
        link.symlink_to(self.data)
        os.replace(link, self.root)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class GCSBackend:
    name = "gcs"

    def __init__(self, tmp: Path):
        self.port = 0
        self._server = None
        self._start()
        self.host = f"http://127.0.0.1:{self.port}"

    def _start(self) -> None:
        from gcp_storage_emulator.server import create_server

        self._server = create_server("127.0.0.1", self.port, in_memory=True, default_bucket=BUCKET)
        self._server.start()
        self.port = self._server._api._httpd.server_port  # the emulator has no public accessor for it

    def make(self, **options):
        from server.storage_gcs import GCSStorage

        options.setdefault("retry_deadline_s", 1.0)  # tests wait for the spool's retries, not the library's
        options.setdefault("timeout_s", 5.0)
        return GCSStorage(BUCKET, emulator_host=self.host, **options)

    def client(self):
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": self.host}
        )

    def break_(self) -> None:
        self._server.stop()

    def repair(self) -> None:
        self._start()  # same port; in memory, so the bucket is made again and empty

    def close(self) -> None:
        self._server.stop()


def make_backend(name: str, tmp: Path):
    return {"local": LocalBackend, "gcs": GCSBackend}[name](tmp)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
