"""The processing server's Flask app factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, abort, jsonify, send_from_directory

from appconfig import ROOT, as_bool, as_list, check_secret, is_debug, setting
from metamodel.schema import CHAT_LAG_S, CHAT_WINDOW_S
from server import api, vod_files
from server.cleanup import StorageJanitor, remove_stale_ring_buffers
from server.cluster import ClusterJobManager, check_executor
from server.features.audio_tags import DEFAULT_CLASSES, parse_classes
from server.job_store import JobStore
from server.manager import JobManager
from server.renders import RenderQueue
from server.runtime import build_runtime
from server.storage import LocalStorage, default_media_base_url

log = logging.getLogger(__name__)

# Where streamlink's Twitch plugin goes for a channel: the channel page and its API (twitch.tv,
# gql.twitch.tv), the playlist service (usher.ttvnw.net) and the video CDN (*.ttvnw.net), on 443.
TWITCH_SOURCE_HOSTS = ("twitch.tv", "*.twitch.tv", "*.ttvnw.net")


def default_config() -> dict:
    """Every server setting, read from the environment / config.py (documented in config.example.py)."""
    port = setting("SERVER_PORT", 5000, int)
    return {
        "SERVER_HOST": setting("SERVER_HOST", "127.0.0.1"),
        "SERVER_PORT": port,
        # Outside debug both tokens must be set, long and not the published defaults (create_app).
        "DJANGO_DEBUG": is_debug(),
        "SERVER_API_TOKEN": setting("SERVER_API_TOKEN", None),
        "INGEST_API_TOKEN": setting("INGEST_API_TOKEN", None),
        # Bigger bodies are refused before they are read: by waitress (python -m server) and Flask.
        "SERVER_MAX_REQUEST_BYTES": setting("SERVER_MAX_REQUEST_BYTES", 65_536, int),
        "DATA_DIR": setting("DATA_DIR", ROOT / "var" / "server", Path),
        "MEDIA_ROOT": setting("MEDIA_ROOT", ROOT / "var" / "media", Path),
        "MEDIA_BASE_URL": setting("MEDIA_BASE_URL", default_media_base_url(port)),
        "METAMODEL_PATH": setting("METAMODEL_PATH", None, Path),
        "METAMODEL_CHECK_S": setting("METAMODEL_CHECK_S", 5.0, float),
        "ALLOWED_SOURCE_HOSTS": setting("ALLOWED_SOURCE_HOSTS", [], as_list),
        "ALLOWED_CALLBACK_HOSTS": setting("ALLOWED_CALLBACK_HOSTS", ["127.0.0.1", "localhost"], as_list),
        "TWITCH_URL_TEMPLATE": setting("TWITCH_URL_TEMPLATE", "https://twitch.tv/{login}"),
        "TWITCH_SOURCE_HOSTS": setting("TWITCH_SOURCE_HOSTS", list(TWITCH_SOURCE_HOSTS), as_list),
        "TWITCH_IRC_HOST": setting("TWITCH_IRC_HOST", "irc.chat.twitch.tv"),
        "TWITCH_IRC_PORT": setting("TWITCH_IRC_PORT", 6697, int),
        "TWITCH_IRC_TLS": setting("TWITCH_IRC_TLS", True, as_bool),
        "TWITCH_IRC_NICK": setting("TWITCH_IRC_NICK", None),
        "TWITCH_OAUTH_TOKEN": setting("TWITCH_OAUTH_TOKEN", None),
        "CHAT_LAG_S": setting("CHAT_LAG_S", CHAT_LAG_S, float),
        "CHAT_WINDOW_S": setting("CHAT_WINDOW_S", CHAT_WINDOW_S, float),
        "SEGMENT_SECONDS": setting("SEGMENT_SECONDS", 10.0, float),
        "RING_SEGMENTS": setting("RING_SEGMENTS", 60, int),
        "CHAT_SENTIMENT_BACKEND": setting("CHAT_SENTIMENT_BACKEND", "auto"),  # the downloaded model, else lexicon
        "CHAT_SENTIMENT_MODEL": setting("CHAT_SENTIMENT_MODEL", None),
        "CHAT_SENTIMENT_MAX_MESSAGES": setting("CHAT_SENTIMENT_MAX_MESSAGES", 20, int),  # docs/chat.md: CPU budget
        "STREAM_READ_TIMEOUT_S": setting("STREAM_READ_TIMEOUT_S", 30.0, float),
        "RETRY_MIN_S": setting("RETRY_MIN_S", 5.0, float),
        "RETRY_MAX_S": setting("RETRY_MAX_S", 60.0, float),
        "REPORT_RETRY_MAX_S": setting("REPORT_RETRY_MAX_S", 60.0, float),
        "REPORT_MAX_TRIES": setting("REPORT_MAX_TRIES", 5, int),
        "MAX_JOBS": setting("MAX_JOBS", 20, int),
        "RESUME_JOBS": setting("RESUME_JOBS", True, as_bool),  # DATA_DIR/jobs.json + DATA_DIR/outbox
        # Where clips go (docs/storage.md)
        "STORAGE_BACKEND": setting("STORAGE_BACKEND", "local"),
        "GCS_BUCKET": setting("GCS_BUCKET", None),
        "GCS_PROJECT": setting("GCS_PROJECT", None),
        "GCS_PUBLIC_BASE_URL": setting("GCS_PUBLIC_BASE_URL", None),
        "GCS_SIGNED_URLS": setting("GCS_SIGNED_URLS", False, as_bool),
        "GCS_SIGNED_URL_EXPIRY_S": setting("GCS_SIGNED_URL_EXPIRY_S", 7 * 24 * 3600, int),
        "GCS_VERIFY_URLS": setting("GCS_VERIFY_URLS", True, as_bool),
        "GCS_RETRY_DEADLINE_S": setting("GCS_RETRY_DEADLINE_S", 60.0, float),
        "STORAGE_EMULATOR_HOST": setting("STORAGE_EMULATOR_HOST", None),
        "STORAGE_CACHE_CONTROL": setting("STORAGE_CACHE_CONTROL", "public, max-age=86400"),
        "STORAGE_SPOOL_DIR": setting("STORAGE_SPOOL_DIR", None, Path),
        "STORAGE_SPOOL_MAX_ITEMS": setting("STORAGE_SPOOL_MAX_ITEMS", 1000, int),
        "STORAGE_RETRY_MAX_S": setting("STORAGE_RETRY_MAX_S", 300.0, float),
        "STORAGE_DELETE_GRACE_S": setting("STORAGE_DELETE_GRACE_S", 600.0, float),
        "STORAGE_RETENTION_DAYS": setting("STORAGE_RETENTION_DAYS", None, float),
        # PANNs audio tagging (docs/audio-tagging.md)
        "PANNS_MODEL": setting("PANNS_MODEL", "Cnn14"),
        "PANNS_CHECKPOINT": setting("PANNS_CHECKPOINT", None, Path),
        "AUDIO_TAG_CLASSES": setting("AUDIO_TAG_CLASSES", DEFAULT_CLASSES, parse_classes),
        "AUDIO_TAG_CANDIDATES_ONLY": setting("AUDIO_TAG_CANDIDATES_ONLY", True, as_bool),
        "AUDIO_TAG_MAX_WAIT_S": setting("AUDIO_TAG_MAX_WAIT_S", 2.0, float),
        "MODEL_BATCH_WINDOW_S": setting("MODEL_BATCH_WINDOW_S", 0.05, float),
        "MODEL_MAX_BATCH": setting("MODEL_MAX_BATCH", 8, int),
        "MODEL_THREADS": setting("MODEL_THREADS", 1, int),
        # Where stream jobs run (docs/scaling.md): "threads" in this process, or "dask" workers.
        "EXECUTOR": setting("EXECUTOR", "threads"),
        "DASK_SCHEDULER": setting("DASK_SCHEDULER", "tcp://127.0.0.1:8786"),
        # Vertical/square renders for the webapp (server/renders.py): below live scoring in priority
        "RENDER_WORKERS": setting("RENDER_WORKERS", 1, int),
        "RENDER_NICENESS": setting("RENDER_NICENESS", 10, int),
        "RENDER_THREADS": setting("RENDER_THREADS", 1, int),
        # A past broadcast's chat file (PUT /api/v1/jobs/<id>/chat): bigger ones are refused (413)
        "VOD_MAX_CHAT_BYTES": setting("VOD_MAX_CHAT_BYTES", 32 * 1024 * 1024, int),
        # An uploaded recording (PUT /api/v1/jobs/<id>/recording): bigger ones are refused (413); 0 = off
        "VOD_MAX_RECORDING_BYTES": setting("VOD_MAX_RECORDING_BYTES", 0, int),
        # Uploads come in parts of at most this much: the only request bodies over SERVER_MAX_REQUEST_BYTES
        "VOD_UPLOAD_CHUNK_BYTES": setting("VOD_UPLOAD_CHUNK_BYTES", 1024 * 1024, int),
    }


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(default_config())
    if test_config:
        app.config.from_mapping(test_config)
    config = app.config
    for name in ("SERVER_API_TOKEN", "INGEST_API_TOKEN"):  # ImproperlyConfigured names a bad one
        config[name] = check_secret(name, config[name], config["DJANGO_DEBUG"])
    config["MAX_CONTENT_LENGTH"] = config["SERVER_MAX_REQUEST_BYTES"]
    check_executor(config)  # cluster mode needs clip storage every machine reaches, and says so
    # A bad model file stops start-up, loudly; later a bad file is refused and the old model stays.
    runtime = build_runtime(config, models=config["EXECUTOR"] != "dask")  # cluster mode: models on the workers
    data_dir = Path(config["DATA_DIR"])
    persist = config["RESUME_JOBS"]  # off: jobs and undelivered reports live in memory only
    model, reporter, storage, uploader = runtime.model, runtime.reporter, runtime.storage, runtime.uploader
    janitor = StorageJanitor(
        storage, data_dir / "storage-deletes.json", config["STORAGE_DELETE_GRACE_S"], config["STORAGE_RETENTION_DAYS"]
    )
    remove_stale_ring_buffers(data_dir)  # no job runs yet
    vod_files.remove_all(data_dir)  # VOD jobs are not resumed: their chat files are not wanted
    worker, tagger, ctx = runtime.model_worker, runtime.audio_tagger, runtime.ctx
    store = JobStore(data_dir / "jobs.json") if persist else None
    jobs: JobManager | ClusterJobManager
    if config["EXECUTOR"] == "dask":  # stream jobs run on Dask workers (docs/scaling.md)
        jobs = ClusterJobManager(config["DASK_SCHEDULER"], config["MAX_JOBS"], store, config["SEGMENT_SECONDS"])
    else:
        jobs = JobManager(ctx, config["MAX_JOBS"], store)

    renders = RenderQueue(
        storage,
        data_dir / "renders",
        config["RENDER_WORKERS"],
        config["RENDER_NICENESS"],
        config["RENDER_THREADS"],
        local_media=(config["MEDIA_BASE_URL"], Path(config["MEDIA_ROOT"]))
        if isinstance(storage, LocalStorage)
        else None,
    )

    def stream_deleted(stream_id: int) -> None:
        """The webapp deleted the stream: drop its queued reports, spooled uploads and renders,
        delete its clips after the grace period."""
        renders.forget(stream_id)
        reporter.forget(stream_id)
        uploader.forget(stream_id)
        janitor.schedule(stream_id)

    def stream_gone(stream_id: int) -> None:  # the webapp answered 404: it missed telling us
        _stop_later(jobs, stream_id)
        stream_deleted(stream_id)

    reporter.on_gone = stream_gone
    if isinstance(jobs, ClusterJobManager):
        jobs.on_gone = stream_deleted  # a worker's outbox heard the webapp's 404 and ended the job
    reporter.start()
    uploader.start()
    janitor.start()
    jobs.resume()  # the jobs running when the server last stopped, from where they were
    app.extensions["jobs"] = jobs
    app.extensions["reporter"] = reporter
    app.extensions["model"] = model
    app.extensions["uploader"] = uploader
    app.extensions["janitor"] = janitor
    app.extensions["model_worker"] = worker
    app.extensions["audio_tagger"] = tagger
    app.extensions["stream_deleted"] = stream_deleted
    app.extensions["renders"] = renders
    app.register_blueprint(api.bp)
    _register_plain_routes(app)
    return app


def shutdown(app: Flask) -> None:
    """Stop every job and the outbox (server exit, test teardown)."""
    app.extensions["jobs"].stop_all()
    app.extensions["uploader"].stop()
    app.extensions["janitor"].stop()
    app.extensions["renders"].stop()
    app.extensions["reporter"].stop()
    app.extensions["model_worker"].stop()


def _stop_later(jobs: JobManager | ClusterJobManager, stream_id: int) -> None:
    import threading

    threading.Thread(target=jobs.stop, args=(stream_id,), name=f"stop-{stream_id}", daemon=True).start()


def _register_plain_routes(app: Flask) -> None:
    @app.get("/healthz")
    def health():
        reporter = app.extensions["reporter"]
        uploader, janitor = app.extensions["uploader"], app.extensions["janitor"]
        return jsonify(
            {
                "ok": True,
                "jobs": len(app.extensions["jobs"].all()),
                "outbox_pending": reporter.pending,
                "outbox_parked": reporter.parked,
                "outbox_error": reporter.last_error,
                "spool_pending": uploader.pending,
                "storage_error": uploader.last_error or janitor.last_error,
                "deletions_scheduled": len(janitor.scheduled),
                "model_error": app.extensions["model"].last_error,
                "audio_tagging": app.extensions["audio_tagger"].counts(),
                **app.extensions["jobs"].health(),  # cluster mode: the scheduler and each stream's worker
            }
        )

    @app.get("/media/<path:name>")
    def media(name: str):
        # Clips are public by design (like a public GCS bucket); send_from_directory refuses "..".
        root = Path(app.config["MEDIA_ROOT"])
        if not (root / name).is_file():
            abort(404, "no such clip")
        return send_from_directory(root, name, max_age=3600)
