"""The processing server's Flask app factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, abort, jsonify, send_from_directory

from appconfig import ROOT, as_bool, as_list, setting
from metamodel import load_metamodel
from server import api
from server.jobs import JobContext
from server.manager import JobManager
from server.reporter import Reporter
from server.storage import LocalStorage

log = logging.getLogger(__name__)


def default_config() -> dict:
    """Every server setting, read from the environment / config.py (documented in config.example.py)."""
    port = setting("SERVER_PORT", 5000, int)
    return {
        "SERVER_HOST": setting("SERVER_HOST", "127.0.0.1"),
        "SERVER_PORT": port,
        "SERVER_API_TOKEN": setting("SERVER_API_TOKEN", "dev-server-token"),
        "INGEST_API_TOKEN": setting("INGEST_API_TOKEN", "dev-ingest-token"),
        "DATA_DIR": setting("DATA_DIR", ROOT / "var" / "server", Path),
        "MEDIA_ROOT": setting("MEDIA_ROOT", ROOT / "var" / "media", Path),
        "MEDIA_BASE_URL": setting("MEDIA_BASE_URL", f"http://127.0.0.1:{port}/media"),
        "METAMODEL_PATH": setting("METAMODEL_PATH", None, Path),
        "ALLOWED_SOURCE_HOSTS": setting("ALLOWED_SOURCE_HOSTS", [], as_list),
        "ALLOWED_CALLBACK_HOSTS": setting("ALLOWED_CALLBACK_HOSTS", ["127.0.0.1", "localhost"], as_list),
        "TWITCH_URL_TEMPLATE": setting("TWITCH_URL_TEMPLATE", "https://twitch.tv/{login}"),
        "TWITCH_IRC_HOST": setting("TWITCH_IRC_HOST", "irc.chat.twitch.tv"),
        "TWITCH_IRC_PORT": setting("TWITCH_IRC_PORT", 6697, int),
        "TWITCH_IRC_TLS": setting("TWITCH_IRC_TLS", True, as_bool),
        "TWITCH_IRC_NICK": setting("TWITCH_IRC_NICK", None),
        "TWITCH_OAUTH_TOKEN": setting("TWITCH_OAUTH_TOKEN", None),
        "SEGMENT_SECONDS": setting("SEGMENT_SECONDS", 10.0, float),
        "RING_SEGMENTS": setting("RING_SEGMENTS", 60, int),
        "CHAT_LAG_S": setting("CHAT_LAG_S", 4.0, float),
        "STREAM_READ_TIMEOUT_S": setting("STREAM_READ_TIMEOUT_S", 30.0, float),
        "RETRY_MIN_S": setting("RETRY_MIN_S", 5.0, float),
        "RETRY_MAX_S": setting("RETRY_MAX_S", 60.0, float),
        "REPORT_RETRY_MAX_S": setting("REPORT_RETRY_MAX_S", 60.0, float),
        "MAX_JOBS": setting("MAX_JOBS", 20, int),
    }


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(default_config())
    if test_config:
        app.config.from_mapping(test_config)
    config = app.config
    model = load_metamodel(config["METAMODEL_PATH"])  # a bad model file stops start-up, loudly
    reporter = Reporter(config["INGEST_API_TOKEN"], max_backoff=config["REPORT_RETRY_MAX_S"])
    ctx = JobContext(
        data_dir=Path(config["DATA_DIR"]),
        storage=LocalStorage(Path(config["MEDIA_ROOT"]), config["MEDIA_BASE_URL"]),
        reporter=reporter,
        model=lambda: model,
        segment_seconds=config["SEGMENT_SECONDS"],
        ring_size=config["RING_SEGMENTS"],
        chat_lag_s=config["CHAT_LAG_S"],
        read_timeout_s=config["STREAM_READ_TIMEOUT_S"],
        retry_min_s=config["RETRY_MIN_S"],
        retry_max_s=config["RETRY_MAX_S"],
        irc_host=config["TWITCH_IRC_HOST"],
        irc_port=config["TWITCH_IRC_PORT"],
        irc_tls=config["TWITCH_IRC_TLS"],
        irc_nick=config["TWITCH_IRC_NICK"],
        irc_token=config["TWITCH_OAUTH_TOKEN"],
    )
    jobs = JobManager(ctx, config["MAX_JOBS"])
    reporter.on_gone = lambda stream_id: _stop_later(jobs, stream_id)
    reporter.start()
    app.extensions["jobs"] = jobs
    app.extensions["reporter"] = reporter
    app.register_blueprint(api.bp)
    _register_plain_routes(app)
    return app


def shutdown(app: Flask) -> None:
    """Stop every job and the outbox (server exit, test teardown)."""
    app.extensions["jobs"].stop_all()
    app.extensions["reporter"].stop()


def _stop_later(jobs: JobManager, stream_id: int) -> None:
    import threading

    threading.Thread(target=jobs.stop, args=(stream_id,), name=f"stop-{stream_id}", daemon=True).start()


def _register_plain_routes(app: Flask) -> None:
    @app.get("/healthz")
    def health():
        reporter = app.extensions["reporter"]
        return jsonify({"ok": True, "jobs": len(app.extensions["jobs"].all()), "outbox_pending": reporter.pending,
                        "outbox_error": reporter.last_error})

    @app.get("/media/<path:name>")
    def media(name: str):
        # Clips are public by design (like a public GCS bucket); send_from_directory refuses "..".
        root = Path(app.config["MEDIA_ROOT"])
        if not (root / name).is_file():
            abort(404, "no such clip")
        return send_from_directory(root, name, max_age=3600)
