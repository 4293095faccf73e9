# Every setting of the webapp and the processing server, with its default.
#
# Copy this file to config.py (or point HIGHLIGHTS_CONFIG at another path) and change what you
# need. An environment variable of the same name overrides config.py; config.py overrides the
# default. Lists may be Python lists here or comma-separated strings in the environment.
# Nothing here is required for the demo: `bash run.sh` works on the defaults.

# --- Production or debug -------------------------------------------------------------------------
# Off unless set: both apps run in production mode. Then the three secrets below must be set, at
# least 32 (tokens) / 50 (key) characters long and not the development values shown here, or the
# apps refuse to start with an ImproperlyConfigured error naming the setting. True (development
# only): Django's debug pages, and a missing secret falls back to its development value.
DJANGO_DEBUG = False

# --- Shared secrets (keep them out of version control) -----------------------------------------
# `.venv/bin/python -m appsecrets` (run by scripts/install.sh, so by run.sh) writes this machine's
# own random values to var/secrets.env (0600, made once; HIGHLIGHTS_SECRETS names another file).
# Both apps read that file after the environment and config.py, so setting them here is optional.
# SERVER_API_TOKEN = "..."  # webapp -> server calls (Authorization: Bearer ...); debug default "dev-server-token"
# INGEST_API_TOKEN = "..."  # server -> webapp reports; debug default "dev-ingest-token"
# DJANGO_SECRET_KEY = "..."  # signs sessions and CSRF tokens; debug default a fixed development key

# --- Webapp (Django) ---------------------------------------------------------------------------
DJANGO_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]  # host names the webapp answers to
DJANGO_CSRF_TRUSTED_ORIGINS = []  # e.g. ["https://highlights.example.com"] behind a proxy
# HTTPS (production sits behind a TLS proxy; README "Running in production"). Default: on outside
# debug: plain HTTP is redirected to HTTPS (except the server's API, /api/v1/), cookies are
# sent over HTTPS only, and HSTS is sent. False only for plain HTTP on loopback (the demo stack).
DJANGO_HTTPS = None  # None = not DJANGO_DEBUG
DJANGO_HSTS_SECONDS = 31536000  # when DJANGO_HTTPS; 0 turns HSTS off
DJANGO_HSTS_INCLUDE_SUBDOMAINS = True
DJANGO_HSTS_PRELOAD = True  # only allows preloading: you still submit the domain yourself
# The header a TLS proxy sets to say the browser used HTTPS, e.g. "X-Forwarded-Proto". Not needed
# with `python -m webapp` + WEBAPP_TRUSTED_PROXY or gunicorn (both read it from a trusted proxy).
# Set it only if the proxy always sets or strips it: otherwise clients could claim HTTPS.
DJANGO_PROXY_SSL_HEADER = None
WEBAPP_LISTEN = "127.0.0.1:8000"  # where `python -m webapp` (waitress) listens
# The TLS proxy's address, e.g. "127.0.0.1": `python -m webapp` then takes the browser's address
# and scheme from its X-Forwarded-For / X-Forwarded-Proto headers (and from no one else's).
WEBAPP_TRUSTED_PROXY = None
WEBAPP_MAX_REQUEST_BYTES = 2621440  # bigger bodies are refused (413): by waitress before reading them
LOGIN_FAILURE_LIMIT = 5  # wrong passwords for one user name from one address before a lockout...
LOGIN_LOCKOUT_S = 900  # ...of this long, counted from the first failure (counts in Django's cache)
DATABASE_URL = None  # e.g. "postgres://user:password@db.internal:5432/highlights" (needs psycopg)
DATABASE_PATH = "var/db.sqlite3"  # without DATABASE_URL: the SQLite file (created 0600, folder 0700)
STATIC_ROOT = "var/static"  # only used by an optional `manage.py collectstatic`; pages never need it
# The download button fetches clips only from URLs under these prefixes, never following a
# redirect. None = the clip storage from the settings below: MEDIA_BASE_URL, or the GCS bucket's
# URL (GCS_PUBLIC_BASE_URL, or https://storage.googleapis.com/<GCS_BUCKET>). Set it when the
# webapp does not share the server's settings, e.g. ["https://clips.example.com"].
CLIP_STORAGE_URLS = None
SERVER_URL = "http://127.0.0.1:5000"  # where the processing server listens
# Streams saved "waiting for server" are retried by a background thread of the webapp process
# (started by webapp/wsgi.py: waitress, runserver) this often, in seconds; 0 turns it off (then
# run `manage.py sync_jobs --loop`). Pages never call the server; add/delete calls time out after
# 1 s (connect) / 3 s (read; 10 s for a delete), and after 3 dead or hung calls in a row none is
# made for 15 s (a circuit breaker), so the stream is saved waiting at once.
JOB_SYNC_INTERVAL_S = 2.0
WEBAPP_PUBLIC_URL = "http://127.0.0.1:8000"  # where the server can reach the webapp (callback_base)
MAX_STREAMS_PER_USER = 10  # streams one account may track at once

# --- Webapp: notifications of new highlights (docs/webapp.md "Notifications") -------------------
# Each user may have every new highlight posted to a Discord webhook and/or e-mailed. The webapp's
# background thread sends them (every JOB_SYNC_INTERVAL_S; with 0, run `manage.py send_notifications --loop`).
# The address users open the site at, e.g. "https://highlights.example.com": messages link to the
# stream page there (with its https:// or the webapp refuses to start). None = messages carry no link
# (the notifications page says so); WEBAPP_PUBLIC_URL is not used,
# since it is often a loopback address only the processing server can reach.
WEBAPP_SITE_URL = None
NOTIFY_TIMEOUT_S = 10.0  # one webhook call by the background thread (connect and read, each)
NOTIFY_TEST_TIMEOUT_S = 5.0  # the "Send a test" button's call, made while the page waits
# A receiver that is down (network error, HTTP 5xx) is retried after NOTIFY_RETRY_MIN_S, doubling
# up to NOTIFY_RETRY_MAX_S; Discord's 429 waits its retry_after instead. A message still unsent
# NOTIFY_GIVE_UP_AFTER_S after its highlight arrived is given up (the page says why).
NOTIFY_RETRY_MIN_S = 5.0
NOTIFY_RETRY_MAX_S = 600.0
NOTIFY_GIVE_UP_AFTER_S = 86400.0
# True also accepts webhook URLs on loopback (127.0.0.1, localhost, ::1; http, any port): for tests
# and development only. The webapp refuses to start with it outside DJANGO_DEBUG: in production only
# https URLs on Discord's webhook hosts (discord.com, discordapp.com, ptb./canary.) are accepted.
NOTIFY_LOOPBACK_WEBHOOKS = False
# E-mail goes through Django's mail backend (SMTP by default). DEFAULT_FROM_EMAIL is the sender.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # ...console.EmailBackend prints them
EMAIL_HOST = "localhost"
EMAIL_PORT = 25
EMAIL_HOST_USER = ""
EMAIL_HOST_PASSWORD = ""  # a secret: keep it in the environment or an untracked config.py
EMAIL_USE_TLS = False  # STARTTLS (port 587 usually)
EMAIL_TIMEOUT = 10  # seconds per SMTP operation
DEFAULT_FROM_EMAIL = "highlights@localhost"

# --- Both: which stream URLs users may add (besides Twitch channel names) ----------------------
# A URL source (http://, https://, hls://) is refused unless its host AND port are listed: the
# server must not be made to fetch arbitrary hosts or ports (SSRF). Entries (allowlist.py):
# "cdn.example.com" = that host on ports 80 and 443 only; "127.0.0.1:8181" = that port only;
# "*.example.com" = its subdomains (ports 80/443; "*.example.com:8443" for another port).
# The server checks every request its ingest makes against this list plus TWITCH_SOURCE_HOSTS and
# TWITCH_URL_TEMPLATE's host:port: redirects and playlist entries too. The demo allows only its
# own HLS server's port.
ALLOWED_SOURCE_HOSTS = []

# --- Both: past broadcasts (VODs; docs/webapp.md, "Past broadcasts") -------------------------------
# The biggest chat file (TwitchDownloader JSON or raw IRC log, maybe gzipped: gzip a bigger one) and
# recording one may upload; bigger ones are refused in words (the webapp's form) or with 413 (the
# server's API). The webapp's waitress reads a whole request body before Django knows who sent it,
# so its body limit becomes WEBAPP_MAX_REQUEST_BYTES or the two added up, whichever is bigger: that
# is also what anyone may send. Recording uploads are therefore off in the webapp (0) unless you
# allow a size; the server's own default is 4 GB (it takes uploads in parts, below).
VOD_MAX_CHAT_BYTES = 33554432  # 32 MB
VOD_MAX_RECORDING_BYTES = 0  # 0 = no recording uploads (links only); e.g. 4294967296 for 4 GB
# The webapp sends each upload to the server in parts of at most this size, the only request bodies
# the server takes above SERVER_MAX_REQUEST_BYTES (its waitress limit is the bigger of the two).
VOD_UPLOAD_CHUNK_BYTES = 1048576
# Webapp: where uploads wait (random names) until the processing server has them; deleted then, or
# with the stream. The server keeps its copies in DATA_DIR/vod/<stream id>/ until the analysis ends.
VOD_UPLOAD_DIR = "var/vod-uploads"

# --- Processing server (Flask) -------------------------------------------------------------------
SERVER_HOST = "127.0.0.1"  # bind address; keep loopback unless a proxy fronts it
SERVER_PORT = 5000
SERVER_MAX_REQUEST_BYTES = 65536  # bigger API bodies are refused (413), by waitress before reading them
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

# Where stream jobs run (docs/scaling.md). "threads": in this server process (the default: one box,
# no broker, what `bash run.sh` runs). "dask": on Dask workers (`python -m server.worker --scheduler
# ADDR --streams N` on each machine, with these same settings); the server submits and watches the
# jobs and stays the webapp's only contact. Cluster mode needs STORAGE_BACKEND = "gcs": the server
# and the workers refuse to start with the local folder, which no other machine can serve.
# The models (PANNs, the transformers sentiment model) run in each worker process, or as one shared
# batched service on the machines started with `python -m server.worker --models` (GPU machines;
# no setting: stream workers find it through the scheduler and fall back in-process without it).
EXECUTOR = "threads"
DASK_SCHEDULER = "tcp://127.0.0.1:8786"  # the Dask scheduler's address (also the workers' default --scheduler)

# Ingest
TWITCH_URL_TEMPLATE = "https://twitch.tv/{login}"  # what a channel name opens with streamlink
SEGMENT_SECONDS = 10.0  # length of a scored segment
RING_SEGMENTS = 60  # segments kept on disk per stream (60 x 10 s = 10 minutes)
STREAM_READ_TIMEOUT_S = 30.0  # no video for this long = the stream dropped
RETRY_MIN_S = 5.0  # first wait before reopening an offline stream; doubles...
RETRY_MAX_S = 60.0  # ...up to this

# Downloaded models (environment variables only, read by the download commands and the server):
#   HIGHLIGHTS_CACHE         where models are kept; default ~/.cache/highlights (panns/, sentiment/)
#   HIGHLIGHTS_NO_DOWNLOADS  set to 1: run.sh / scripts/install.sh fetch no model
#   HF_ENDPOINT              the Hugging Face hub (default https://huggingface.co; a mirror)
#   ZENODO_ENDPOINT          Zenodo, for the PANNs checkpoints (default https://zenodo.org; a mirror)
#   CI                       true: the install's model fetch gives up on a host after a 3 s connect timeout

# Audio tagging (PANNs, docs/audio-tagging.md). Weights: run.sh fetches Cnn14; `.venv/bin/python -m
# panns download [--model Cnn10]` stores them in $PANNS_CACHE (default $HIGHLIGHTS_CACHE/panns). Without
# them the server runs on, says "audio tagging off: no checkpoint" and the audio_tag:* features are None.
PANNS_MODEL = "Cnn14"  # "Cnn14" (mAP 0.431, ~1 CPU-s per segment) or "Cnn10" (mAP 0.380, about half)
PANNS_CHECKPOINT = None  # a checkpoint file; None = the cached download of PANNS_MODEL
# audio_tag:<class> features: exact AudioSet display names (panns/class_labels_indices.csv);
# as an environment variable separate them with ";" (the names contain commas). None = the
# prototype's 16 classes plus Cheering, Applause, Screaming, Shout, Explosion, Crowd.
AUDIO_TAG_CLASSES = None
# True: tag only segments that some tags could still lift to the highlight bar (metamodel/cascade.py):
# no highlight is lost, most quiet segments cost no tagger time. False: tag every segment.
AUDIO_TAG_CANDIDATES_ONLY = True
# With the cascade on: a candidate segment whose tagging has not started within this many seconds
# goes untagged (its tags imputed; the job's status says "audio tagging busy"), so that a backlog
# on the model thread cannot hold every live stream back. 0 = wait however long it takes.
AUDIO_TAG_MAX_WAIT_S = 2.0
MODEL_BATCH_WINDOW_S = 0.05  # the model thread (or model service) waits this long to batch several streams
MODEL_MAX_BATCH = 8  # at most this many items per forward pass

# Vertical (9:16) and square clips the user exports from the stream page (server/renders.py):
# they render in the background, below live scoring in CPU priority.
RENDER_WORKERS = 1  # renders at once; more wait their turn (queued)
# How much nicer a render runs (its ffmpeg, and its thread in the server: the face search); 0 = as scoring.
RENDER_NICENESS = 10
RENDER_THREADS = 1  # x264 threads per render (0 = ffmpeg's choice: all cores)

# Chat (Twitch IRC). Anonymous (justinfan) by default; a token is only needed for private needs.
TWITCH_IRC_HOST = "irc.chat.twitch.tv"
TWITCH_IRC_PORT = 6697
TWITCH_IRC_TLS = True
TWITCH_IRC_NICK = None  # the login a token belongs to
TWITCH_OAUTH_TOKEN = None  # "oauth:..." ; never logged
# The chat that reacts to a segment: from CHAT_LAG_S to CHAT_LAG_S + CHAT_WINDOW_S after it starts
# (docs/metamodel.md: measured on held-out streams). Part of the features' definition: a model is
# trained for one window, so change these only for tests with short segments.
CHAT_LAG_S = 4.0
CHAT_WINDOW_S = 20.0
# Chat sentiment (docs/chat.md): "auto" (the default): the transformers model if it was downloaded
# (run.sh does; `.venv/bin/python -m server.chat.sentiment download`) or CHAT_SENTIMENT_MODEL is set,
# else the lexicon, and every job's "degraded" list says "chat sentiment: lexicon (no downloaded
# model: ...)". "lexicon" (offline, emote-aware) or "transformers" force one backend; "ensemble": the lexicon
# for messages whose emotes carry sentiment, the transformers model for the rest.
CHAT_SENTIMENT_BACKEND = "auto"
# transformers/ensemble: a Hugging Face model id or a local folder (3 labels: negative/neutral/positive).
# None = "cardiffnlp/twitter-roberta-base-sentiment-latest". A hub id that was downloaded is loaded
# from $HIGHLIGHTS_CACHE/sentiment/ (no network). If it cannot be loaded the server keeps running
# on the lexicon and says so in each job's "degraded" list.
CHAT_SENTIMENT_MODEL = None
# transformers on a CPU: classify at most this many messages per segment (an evenly spaced sample,
# counts scaled up), so the model stays within its CPU budget (docs/chat.md); 0 = all. On a GPU,
# and with the lexicon, every message is read.
CHAT_SENTIMENT_MAX_MESSAGES = 20  # ~0.8 CPU-s per segment with RoBERTa-base (docs/benchmarks.md)

# Clips: where highlight clips (mp4) and thumbnails (jpg) are stored (docs/storage.md)
STORAGE_BACKEND = "local"  # "local" (MEDIA_ROOT, served at /media/) or "gcs" (a Google Cloud Storage bucket)
MEDIA_ROOT = "var/media"  # local backend: the folder
MEDIA_BASE_URL = "http://127.0.0.1:5000/media"  # local backend: public URL prefix of MEDIA_ROOT
# Stored names are "<stream_id>/<first>-<last>-<22 random characters>.mp4/.jpg": anyone with a
# URL can fetch it (like a public bucket), so URLs carry 128 random bits and cannot be guessed.
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
