# Every setting of the webapp and the processing server, with its default.
#
# Copy this file to config.py (or point HIGHLIGHTS_CONFIG at another path) and change what you
# need. An environment variable of the same name overrides config.py; config.py overrides the
# default. Lists may be Python lists here or comma-separated strings in the environment.
# Nothing here is required for the demo: `bash run.sh` works on the defaults.

# --- Shared secrets (change both in production; keep them out of version control) -------------
SERVER_API_TOKEN = "dev-server-token"  # webapp -> server calls (Authorization: Bearer ...)
INGEST_API_TOKEN = "dev-ingest-token"  # server -> webapp reports

# --- Webapp (Django) ---------------------------------------------------------------------------
DJANGO_DEBUG = True  # False in production; then DJANGO_SECRET_KEY is required
# DJANGO_SECRET_KEY = "..."  # long random string; required when DJANGO_DEBUG is False
DJANGO_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]  # host names the webapp answers to
DJANGO_CSRF_TRUSTED_ORIGINS = []  # e.g. ["https://highlights.example.com"] behind a proxy
DATABASE_PATH = "var/db.sqlite3"  # the SQLite file (folder is created)
SERVER_URL = "http://127.0.0.1:5000"  # where the processing server listens
# Streams saved "waiting for server" are retried by a background thread of the webapp process
# (started by webapp/wsgi.py: waitress, runserver) this often, in seconds; 0 turns it off (then
# run `manage.py sync_jobs --loop`). Pages never call the server; add/delete calls time out after
# 1 s (connect) / 3 s (read; 10 s for a delete), and after 3 dead or hung calls in a row none is
# made for 15 s (a circuit breaker), so the stream is saved waiting at once.
JOB_SYNC_INTERVAL_S = 2.0
WEBAPP_PUBLIC_URL = "http://127.0.0.1:8000"  # where the server can reach the webapp (callback_base)
MAX_STREAMS_PER_USER = 10  # streams one account may track at once

# --- Both: which stream URLs users may add (besides Twitch channel names) ----------------------
# A URL source (http://, https://, hls://) is refused unless its host AND port are listed: the
# server must not be made to fetch arbitrary hosts or ports (SSRF). Entries (allowlist.py):
# "cdn.example.com" = that host on ports 80 and 443 only; "127.0.0.1:8181" = that port only;
# "*.example.com" = its subdomains (ports 80/443; "*.example.com:8443" for another port).
# The server checks every request its ingest makes against this list plus TWITCH_SOURCE_HOSTS and
# TWITCH_URL_TEMPLATE's host:port: redirects and playlist entries too. The demo allows only its
# own HLS server's port.
ALLOWED_SOURCE_HOSTS = []

# --- Processing server (Flask) -------------------------------------------------------------------
SERVER_HOST = "127.0.0.1"  # bind address; keep loopback unless a proxy fronts it
SERVER_PORT = 5000
ALLOWED_CALLBACK_HOSTS = ["127.0.0.1", "localhost"]  # webapp hosts the server will report to
# Hosts streamlink's Twitch plugin may contact for a channel name (same entry syntax as
# ALLOWED_SOURCE_HOSTS): the channel page and API, the playlist service and the video CDN.
TWITCH_SOURCE_HOSTS = ["twitch.tv", "*.twitch.tv", "*.ttvnw.net"]
DATA_DIR = "var/server"  # ring buffers of segments, jobs.json, outbox/ and spool/: keep it across restarts
MAX_JOBS = 20  # streams one server processes at once
# Resume after a restart: running jobs (request + next seq/offset) are kept in DATA_DIR/jobs.json and
# started again, and undelivered webapp reports are journaled in DATA_DIR/outbox and re-sent in order.
# False: both live in memory only (tools and tests that must not touch a shared DATA_DIR).
RESUME_JOBS = True
METAMODEL_PATH = None  # a metamodel JSON; None = the shipped metamodel/default_model.json.
# Set the same path for the server and the webapp: staff retraining writes it, the server reloads it.
METAMODEL_CHECK_S = 5.0  # the server looks for a changed model file at most this often (docs/training.md)

# Ingest
TWITCH_URL_TEMPLATE = "https://twitch.tv/{login}"  # what a channel name opens with streamlink
SEGMENT_SECONDS = 10.0  # length of a scored segment
RING_SEGMENTS = 60  # segments kept on disk per stream (60 x 10 s = 10 minutes)
STREAM_READ_TIMEOUT_S = 30.0  # no video for this long = the stream dropped
RETRY_MIN_S = 5.0  # first wait before reopening an offline stream; doubles...
RETRY_MAX_S = 60.0  # ...up to this

# Audio tagging (PANNs, docs/audio-tagging.md). Weights: `.venv/bin/python -m panns download
# [--model Cnn10]` stores them in $PANNS_CACHE (default ~/.cache/highlights/panns). Without them
# the server runs on, says "audio tagging off: no checkpoint" and the audio_tag:* features are None.
PANNS_MODEL = "Cnn14"  # "Cnn14" (mAP 0.431, ~1 CPU-s per segment) or "Cnn10" (mAP 0.380, about half)
PANNS_CHECKPOINT = None  # a checkpoint file; None = the cached download of PANNS_MODEL
# audio_tag:<class> features: exact AudioSet display names (panns/class_labels_indices.csv);
# as an environment variable separate them with ";" (the names contain commas). None = the
# prototype's 16 classes plus Cheering, Applause, Screaming, Shout, Explosion, Crowd.
AUDIO_TAG_CLASSES = None
AUDIO_TAG_CANDIDATES_ONLY = False  # True: tag only segments the cheap features make candidates...
AUDIO_TAG_CANDIDATE_RATIO = 0.5  # ...i.e. whose score without tags is >= this x the threshold
MODEL_BATCH_WINDOW_S = 0.05  # the model worker waits this long to batch segments of several streams
MODEL_MAX_BATCH = 8  # at most this many items per forward pass

# Chat (Twitch IRC). Anonymous (justinfan) by default; a token is only needed for private needs.
TWITCH_IRC_HOST = "irc.chat.twitch.tv"
TWITCH_IRC_PORT = 6697
TWITCH_IRC_TLS = True
TWITCH_IRC_NICK = None  # the login a token belongs to
TWITCH_OAUTH_TOKEN = None  # "oauth:..." ; never logged
CHAT_LAG_S = 4.0  # chat window is shifted this much later: viewers react after they see it
# Chat sentiment (docs/chat.md): "lexicon" (offline, emote-aware; the default) or "transformers".
CHAT_SENTIMENT_BACKEND = "lexicon"
# transformers only: a Hugging Face model id or a local folder (3 labels: negative/neutral/positive).
# None = "cardiffnlp/twitter-roberta-base-sentiment-latest". If it cannot be loaded the server
# keeps running on the lexicon and says so in each job's "degraded" list.
CHAT_SENTIMENT_MODEL = None
# transformers only: classify at most this many messages per segment (an evenly spaced sample,
# counts scaled up), so a big chat cannot outrun the model; 0 = all. The lexicon reads every message.
CHAT_SENTIMENT_MAX_MESSAGES = 50

# Clips: where highlight clips (mp4) and thumbnails (jpg) are stored (docs/storage.md)
STORAGE_BACKEND = "local"  # "local" (MEDIA_ROOT, served at /media/) or "gcs" (a Google Cloud Storage bucket)
MEDIA_ROOT = "var/media"  # local backend: the folder
MEDIA_BASE_URL = "http://127.0.0.1:5000/media"  # local backend: public URL prefix of MEDIA_ROOT
# GCS backend. Credentials come only from the standard Google mechanisms: a service-account key
# file named by the GOOGLE_APPLICATION_CREDENTIALS environment variable, or workload identity /
# the metadata server on Google Cloud. They are never logged. No key goes in this file.
GCS_BUCKET = None  # e.g. "my-highlights"; required when STORAGE_BACKEND = "gcs"
GCS_PROJECT = None  # the project billed for requests; None = the credentials' project
GCS_PUBLIC_BASE_URL = None  # e.g. "https://clips.example.com" (a CDN / domain in front of the bucket);
#                             None = https://storage.googleapis.com/<bucket>
GCS_SIGNED_URLS = False  # True for a private bucket: links are V4-signed (needs a service-account key)
GCS_SIGNED_URL_EXPIRY_S = 604800  # how long a signed link works (GCS allows at most 7 days)
GCS_VERIFY_URLS = True  # fetch each new URL once before reporting it (catches a bucket that is not public)
GCS_RETRY_DEADLINE_S = 60.0  # the client's own retries (backoff) of one upload before the spool takes over
STORAGE_EMULATOR_HOST = None  # e.g. "http://127.0.0.1:9023": use gcp-storage-emulator, anonymously
STORAGE_CACHE_CONTROL = "public, max-age=86400"  # Cache-Control stored with every GCS object
# Uploads run on their own thread from a local spool: a failed upload waits there and is retried
# (also after a restart); a highlight is reported to the webapp only once its files are stored.
STORAGE_SPOOL_DIR = None  # None = DATA_DIR/spool
STORAGE_SPOOL_MAX_ITEMS = 1000  # highlights waiting at most; past it the oldest is dropped (logged)
STORAGE_RETRY_MAX_S = 300.0  # longest wait between upload retries while storage is down
STORAGE_DELETE_GRACE_S = 600.0  # a stream deleted in the webapp loses its clips this long after
STORAGE_RETENTION_DAYS = None  # e.g. 30: delete every clip older than this; None = keep until deleted

# Reporting to the webapp
REPORT_RETRY_MAX_S = 60.0  # longest wait between retries while the webapp is down
# A report the webapp keeps failing (5xx) while it takes the other streams' reports is set aside
# after this many tries (kept in DATA_DIR/outbox/parked/, named in the job's status), so the
# stream's later reports go on. A webapp that is down parks nothing.
REPORT_MAX_TRIES = 5
