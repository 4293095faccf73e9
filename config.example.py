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
WEBAPP_PUBLIC_URL = "http://127.0.0.1:8000"  # where the server can reach the webapp (callback_base)
MAX_STREAMS_PER_USER = 10  # streams one account may track at once

# --- Both: which stream URLs users may add (besides Twitch channel names) ----------------------
# A URL source (http://, https://, hls://) is refused unless its host is listed: the server must
# not be made to fetch arbitrary hosts (SSRF). The demo and tests allow loopback only.
ALLOWED_SOURCE_HOSTS = []

# --- Processing server (Flask) -------------------------------------------------------------------
SERVER_HOST = "127.0.0.1"  # bind address; keep loopback unless a proxy fronts it
SERVER_PORT = 5000
ALLOWED_CALLBACK_HOSTS = ["127.0.0.1", "localhost"]  # webapp hosts the server will report to
DATA_DIR = "var/server"  # per-stream ring buffers of segments
MAX_JOBS = 20  # streams one server processes at once
METAMODEL_PATH = None  # a metamodel JSON; None = the shipped metamodel/default_model.json

# Ingest
TWITCH_URL_TEMPLATE = "https://twitch.tv/{login}"  # what a channel name opens with streamlink
SEGMENT_SECONDS = 10.0  # length of a scored segment
RING_SEGMENTS = 60  # segments kept on disk per stream (60 x 10 s = 10 minutes)
STREAM_READ_TIMEOUT_S = 30.0  # no video for this long = the stream dropped
RETRY_MIN_S = 5.0  # first wait before reopening an offline stream; doubles...
RETRY_MAX_S = 60.0  # ...up to this

# Chat (Twitch IRC). Anonymous (justinfan) by default; a token is only needed for private needs.
TWITCH_IRC_HOST = "irc.chat.twitch.tv"
TWITCH_IRC_PORT = 6697
TWITCH_IRC_TLS = True
TWITCH_IRC_NICK = None  # the login a token belongs to
TWITCH_OAUTH_TOKEN = None  # "oauth:..." ; never logged
CHAT_LAG_S = 4.0  # chat window is shifted this much later: viewers react after they see it

# Clips (local storage, served by the server at /media/)
MEDIA_ROOT = "var/media"
MEDIA_BASE_URL = "http://127.0.0.1:5000/media"  # public URL prefix of MEDIA_ROOT

# Reporting to the webapp
REPORT_RETRY_MAX_S = 60.0  # longest wait between retries while the webapp is down
