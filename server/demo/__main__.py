"""Run the demo live channel: ``python -m server.demo [--hls-port 8181] [--irc-port 6667]``.

Serves the demo clips as a live HLS channel and replays the recorded chat on a Twitch-style IRC
server, both on loopback, until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from .hls_server import LiveHLSServer, window_for
from .irc_server import DEFAULT_LOG, TwitchIRCServer
from .segments import SegmentError, prepare_segments

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / "var" / "demo" / "segments"
HOST = "127.0.0.1"  # the demo is for this machine only


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m server.demo", description=__doc__)
    parser.add_argument("--hls-port", type=int, default=8181, help="HTTP port (default 8181)")
    parser.add_argument("--irc-port", type=int, default=6667, help="IRC port (default 6667)")
    parser.add_argument("--speed", type=float, default=1.0, help="time factor (default 1)")
    parser.add_argument(
        "--channel", action="append", dest="channels", metavar="NAME",
        help="HLS channel to serve (repeatable; default demo_channel)",
    )  # fmt: skip
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help="segment cache")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if args.speed <= 0:
        parser.error("--speed must be > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Prepare the segments, start both servers and wait for Ctrl-C or SIGTERM."""
    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        segments = prepare_segments(args.cache_dir)
    except SegmentError as exc:
        log.error("cannot prepare the demo video: %s", exc)
        return 1
    channels = args.channels or ["demo_channel"]
    hls = LiveHLSServer(
        segments, channels, window=window_for(args.speed), speed=args.speed, host=HOST,
        port=args.hls_port,
    )  # fmt: skip
    irc = TwitchIRCServer(DEFAULT_LOG, speed=args.speed, host=HOST, port=args.irc_port)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        hls.start()
        irc.start()
        for channel in channels:
            log.info("video: %s", hls.url(channel))
        log.info("chat:  irc://%s:%d (plain text, any #channel; Ctrl-C to stop)", HOST, irc.port)
        stopping.wait()
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        log.error("cannot start the demo servers: %s", exc)
        return 1
    finally:
        irc.stop()
        hls.stop()
    log.info("demo stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
