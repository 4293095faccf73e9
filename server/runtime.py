"""What one process that runs stream jobs holds: the outbox, the upload spool, the metamodel and
the shared model thread (PANNs, chat sentiment), tied together in a JobContext.

The Flask server builds one (server/app.py) to run jobs on its own threads; in cluster mode each
Dask worker process builds its own (server/worker.py), so reports and uploads leave from the
machine that made them, exactly as they do on one box.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from allowlist import origin_entry
from panns.download import cache_path
from server.chat.sentiment.service import ChatSentiment
from server.features.audio_tags import AudioTagger
from server.inference import ModelWorker
from server.jobs import JobContext
from server.model_route import ModelRouter
from server.model_store import ModelStore
from server.reporter import Reporter
from server.spool import Spool, Uploader
from server.storage import make_storage
from server.storage_base import Storage


@dataclass
class Runtime:
    model: ModelStore
    reporter: Reporter
    storage: Storage
    uploader: Uploader
    model_worker: ModelWorker
    audio_tagger: AudioTagger
    ctx: JobContext

    def start(self) -> None:
        self.reporter.start()
        self.uploader.start()

    def stop(self) -> None:
        self.uploader.stop()
        self.reporter.stop()
        self.model_worker.stop()


def build_runtime(config: Any, models: bool = True, route_models: bool = False) -> Runtime:
    """The job runtime for the settings in `config` (server/app.py's default_config keys).

    A bad model file, storage backend or sentiment backend name stops start-up, loudly; missing
    model weights only degrade (the job's "degraded" list says so). `models` False (the server in
    cluster mode, whose jobs run on the workers): neither PANNs nor a sentiment model is loaded.
    `route_models` (a stream worker): model calls go to the cluster's model service when there is
    one, else in-process (server/model_route.py); on one box they are in-process, always."""
    model = ModelStore(config["METAMODEL_PATH"], config["METAMODEL_CHECK_S"])
    data_dir = Path(config["DATA_DIR"])
    persist = config["RESUME_JOBS"]  # off: undelivered reports live in memory only
    reporter = Reporter(
        config["INGEST_API_TOKEN"],
        max_backoff=config["REPORT_RETRY_MAX_S"],
        journal_dir=data_dir / "outbox" if persist else None,
        max_tries=config["REPORT_MAX_TRIES"],
    )
    storage = make_storage(config)
    spool = Spool(Path(config["STORAGE_SPOOL_DIR"] or data_dir / "spool"), config["STORAGE_SPOOL_MAX_ITEMS"])
    uploader = Uploader(spool, storage, reporter, max_backoff=config["STORAGE_RETRY_MAX_S"])
    worker_class = ModelRouter if route_models else ModelWorker
    worker = worker_class(config["MODEL_BATCH_WINDOW_S"], config["MODEL_MAX_BATCH"])
    if not models:
        tagger = AudioTagger(worker, None, config["AUDIO_TAG_CLASSES"], notice="audio tagging: on the stream workers")
        sentiment = None
    else:
        tagger = make_audio_tagger(config, worker)  # no weights: tagging off, the server runs on
        # A bad backend name stops start-up; a missing model only degrades to the lexicon (docs/chat.md).
        sentiment = ChatSentiment(
            config["CHAT_SENTIMENT_BACKEND"],
            config["CHAT_SENTIMENT_MODEL"],
            worker,
            max_messages=config["CHAT_SENTIMENT_MAX_MESSAGES"] or None,
        )
    ctx = JobContext(
        data_dir=data_dir,
        uploader=uploader,
        reporter=reporter,
        model=model,
        segment_seconds=config["SEGMENT_SECONDS"],
        reaction_window=(config["CHAT_LAG_S"], config["CHAT_WINDOW_S"]),
        ring_size=config["RING_SEGMENTS"],
        read_timeout_s=config["STREAM_READ_TIMEOUT_S"],
        retry_min_s=config["RETRY_MIN_S"],
        retry_max_s=config["RETRY_MAX_S"],
        irc_host=config["TWITCH_IRC_HOST"],
        irc_port=config["TWITCH_IRC_PORT"],
        irc_tls=config["TWITCH_IRC_TLS"],
        irc_nick=config["TWITCH_IRC_NICK"],
        irc_token=config["TWITCH_OAUTH_TOKEN"],
        audio_tagger=tagger,
        chat_sentiment=sentiment,
        degraded=(tagger.notice,) if tagger.notice else (),
        source_hosts=ingest_allow_list(config),
    )
    return Runtime(model, reporter, storage, uploader, worker, tagger, ctx)


def ingest_allow_list(config: Any) -> tuple[str, ...]:
    """Every host:port a job's ingest may contact (server/egress.py checks each request):
    ALLOWED_SOURCE_HOSTS, Twitch's own hosts for channel names, and wherever TWITCH_URL_TEMPLATE
    points (the demo channel on loopback)."""
    template = config["TWITCH_URL_TEMPLATE"].format(login="channel")
    return (*config["ALLOWED_SOURCE_HOSTS"], *config["TWITCH_SOURCE_HOSTS"], origin_entry(template))


def make_audio_tagger(config: Any, worker: ModelWorker) -> AudioTagger:
    """The shared PANNs tagger: PANNS_CHECKPOINT, else the cached download of PANNS_MODEL."""
    name = config["PANNS_MODEL"]
    checkpoint = config["PANNS_CHECKPOINT"] or cache_path(name)  # ValueError names a bad PANNS_MODEL
    tagger = AudioTagger.from_checkpoint(
        worker,
        Path(checkpoint),
        name,
        classes=config["AUDIO_TAG_CLASSES"],
        candidates_only=config["AUDIO_TAG_CANDIDATES_ONLY"],
        max_wait_s=config["AUDIO_TAG_MAX_WAIT_S"] or None,
    )
    if tagger.on and config["MODEL_THREADS"] > 0:
        # Process-wide: one intra-op thread costs about a third fewer CPU-seconds per segment than two
        # on a 2-core machine (bench/panns.py); latency is bounded by the 10 s segment anyway.
        torch.set_num_threads(config["MODEL_THREADS"])
    return tagger
