"""`python -m webapp [--listen HOST:PORT] [--threads N]`: serve the webapp with waitress.

Use this rather than a bare `waitress-serve webapp.wsgi:application`: waitress reads a whole
request body (spooling it to disk past 512 KB) before Django sees it, so the body limit must be
given to waitress itself, or anyone could make the webapp store a gigabyte before its 401.
Behind a TLS proxy, WEBAPP_TRUSTED_PROXY names the proxy's address: waitress then takes the
browser's address and scheme from its X-Forwarded-For / X-Forwarded-Proto headers (log-in
throttling counts per browser address).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from waitress import serve

from appconfig import setting


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--listen",
        default=setting("WEBAPP_LISTEN", "127.0.0.1:8000"),
        help="HOST:PORT to listen on (default WEBAPP_LISTEN, 127.0.0.1:8000)",
    )
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    from django.conf import settings

    from webapp.wsgi import application  # settings are checked here: a bad secret stops start-up

    proxy = setting("WEBAPP_TRUSTED_PROXY", None)
    extra = (
        {
            "trusted_proxy": proxy,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
            "clear_untrusted_proxy_headers": True,
        }
        if proxy
        else {}
    )
    serve(
        application,
        listen=args.listen,
        threads=args.threads,
        # a VOD's uploads may be bigger than any other body (Django limits the rest itself)
        max_request_body_size=max(
            settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
            settings.VOD_MAX_CHAT_BYTES + settings.VOD_MAX_RECORDING_BYTES + 65_536,
        ),
        **extra,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
