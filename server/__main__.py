"""`python -m server`: run the processing server (waitress) on SERVER_HOST:SERVER_PORT."""

from __future__ import annotations

import logging
import signal
import sys

from waitress import serve

from server.app import create_app, shutdown


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        # waitress reads a whole body before the app sees it: refuse big ones by Content-Length first.
        serve(
            app,
            host=app.config["SERVER_HOST"],
            port=app.config["SERVER_PORT"],
            threads=8,
            # a VOD upload's parts may be bigger; every other route keeps SERVER_MAX_REQUEST_BYTES
            max_request_body_size=max(app.config["SERVER_MAX_REQUEST_BYTES"], app.config["VOD_UPLOAD_CHUNK_BYTES"]),
        )
    finally:
        shutdown(app)


if __name__ == "__main__":
    main()
