"""Django settings. Every value comes from `appconfig.setting()`: environment, then `config.py`,
then the default here. `config.example.py` documents the keys.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from appconfig import as_bool, as_list, is_debug, secret, setting
from server.storage import default_media_base_url, public_url_prefix
from webapp.lib.database import database_from_url, private_sqlite_file

BASE_DIR = Path(__file__).resolve().parent
REPO_DIR = BASE_DIR.parent
VAR_DIR = REPO_DIR / "var"

# Production unless DJANGO_DEBUG says otherwise; then every shared secret must be set, long and
# not a published default (appconfig.secret raises ImproperlyConfigured naming the setting).
DEBUG = is_debug()
SECRET_KEY = secret("DJANGO_SECRET_KEY", DEBUG)

ALLOWED_HOSTS = setting("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"], as_list)
CSRF_TRUSTED_ORIGINS = setting("DJANGO_CSRF_TRUSTED_ORIGINS", [], as_list)

# The processing server (see docs/contract.md).
SERVER_URL = setting("SERVER_URL", "http://127.0.0.1:5000").rstrip("/")
SERVER_API_TOKEN = secret("SERVER_API_TOKEN", DEBUG)
# Streams waiting for the processing server are retried by a background thread this often (s);
# 0 turns the thread off (then run `manage.py sync_jobs --loop`). Pages never call the server.
JOB_SYNC_INTERVAL_S = setting("JOB_SYNC_INTERVAL_S", 2.0, float)
INGEST_API_TOKEN = secret("INGEST_API_TOKEN", DEBUG)
WEBAPP_PUBLIC_URL = setting("WEBAPP_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# Which stream URL hosts a user may submit; Twitch channel names are always accepted.
ALLOWED_SOURCE_HOSTS = [h.lower() for h in setting("ALLOWED_SOURCE_HOSTS", [], as_list)]
MAX_STREAMS_PER_USER = setting("MAX_STREAMS_PER_USER", 10, int)
# The processing server's model file: staff retraining writes here and the server reloads it.
METAMODEL_PATH = setting("METAMODEL_PATH", None, Path)
# Where highlight clips are stored: the download button fetches only URLs under these prefixes
# (webapp/streams/clips.py). Default: the server's own storage settings (MEDIA_BASE_URL or the bucket).
CLIP_STORAGE_URLS = setting("CLIP_STORAGE_URLS", None, as_list) or [
    public_url_prefix(
        {
            "STORAGE_BACKEND": setting("STORAGE_BACKEND", "local"),
            "MEDIA_BASE_URL": setting("MEDIA_BASE_URL", default_media_base_url(setting("SERVER_PORT", 5000, int))),
            "GCS_BUCKET": setting("GCS_BUCKET", None),
            "GCS_PUBLIC_BASE_URL": setting("GCS_PUBLIC_BASE_URL", None),
            "GCS_SIGNED_URLS": setting("GCS_SIGNED_URLS", False, as_bool),
            "STORAGE_EMULATOR_HOST": setting("STORAGE_EMULATOR_HOST", None),
        }
    )
]
# Past broadcasts (docs/webapp.md, "VODs"): a chat file is kept here under a random name only
# until the processing server has it, and is refused above this size.
VOD_UPLOAD_DIR = Path(setting("VOD_UPLOAD_DIR", str(VAR_DIR / "vod-uploads")))
# waitress reads a whole request body before Django sees who sent it, so these two also bound what
# anyone may send: recording uploads are off (0) unless turned on (docs/webapp.md, "Past broadcasts").
VOD_MAX_CHAT_BYTES = setting("VOD_MAX_CHAT_BYTES", 32 * 1024 * 1024, int)
VOD_MAX_RECORDING_BYTES = setting("VOD_MAX_RECORDING_BYTES", 0, int)
VOD_UPLOAD_CHUNK_BYTES = setting("VOD_UPLOAD_CHUNK_BYTES", 1024 * 1024, int)  # parts sent to the server
if MAX_STREAMS_PER_USER < 1:
    raise ImproperlyConfigured("MAX_STREAMS_PER_USER must be at least 1")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "webapp.accounts",
    "webapp.streams",
    "webapp.api",
    "webapp.feedback",
    "webapp.notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = setting("DATABASE_URL", None)  # e.g. postgres://user:password@host:5432/highlights
DATABASE_PATH = Path(setting("DATABASE_PATH", str(VAR_DIR / "db.sqlite3")))
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    private_sqlite_file(DATABASE_PATH)  # 0600: the file holds password hashes and sessions
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATABASE_PATH,
            "OPTIONS": {
                # The server reports while users browse: WAL lets readers and the one writer
                # overlap, IMMEDIATE avoids "database is locked" on read-then-write transactions.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Log-in throttling (webapp/accounts/throttle.py): after LOGIN_FAILURE_LIMIT wrong passwords for
# one user name from one address, every attempt for that pair is refused for LOGIN_LOCKOUT_S.
AUTHENTICATION_BACKENDS = ["webapp.accounts.throttle.ThrottledModelBackend"]
LOGIN_FAILURE_LIMIT = setting("LOGIN_FAILURE_LIMIT", 5, int)
LOGIN_LOCKOUT_S = setting("LOGIN_LOCKOUT_S", 900, int)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(setting("STATIC_ROOT", str(VAR_DIR / "static")))  # only for `collectstatic`, optional
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start if it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise serves the apps' static folders directly: there is no collectstatic step to forget
# (a missing or stale manifest used to make every page a 500 outside debug). The files are small
# and few; they are cached for WhiteNoise's default 60 s.
WHITENOISE_USE_FINDERS = True

# Request bodies: Django refuses a bigger one when it is read (the ingest API answers 413); the
# waitress entry point `python -m webapp` refuses it before reading it at all.
DATA_UPLOAD_MAX_MEMORY_SIZE = setting("WEBAPP_MAX_REQUEST_BYTES", 2_621_440, int)

# HTTPS (production sits behind a TLS proxy): on by default outside debug. DJANGO_HTTPS=false is
# for plain HTTP on loopback only (the demo stack). The machine API (api/v1/) is never redirected:
# a redirect cannot protect a token that was already sent, and the server may post to the
# webapp directly on an internal address.
HTTPS = setting("DJANGO_HTTPS", not DEBUG, as_bool)
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^api/v1/"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = setting("DJANGO_HSTS_SECONDS", 31_536_000 if HTTPS else 0, int)
SECURE_HSTS_INCLUDE_SUBDOMAINS = setting("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True, as_bool)
SECURE_HSTS_PRELOAD = setting("DJANGO_HSTS_PRELOAD", True, as_bool)
# The header the TLS proxy sets to say the browser used HTTPS, e.g. "X-Forwarded-Proto". Only set
# it when a proxy always sets (or strips) it, or clients could claim HTTPS themselves.
_PROXY_SSL_HEADER = setting("DJANGO_PROXY_SSL_HEADER", None)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https") if _PROXY_SSL_HEADER else None
)

SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"webapp": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# Notifications of new highlights (webapp/notifications, docs/webapp.md "Notifications").
# The site's public address, e.g. "https://highlights.example.com": links in messages. None = no link.
WEBAPP_SITE_URL = (setting("WEBAPP_SITE_URL", None) or "").rstrip("/") or None
if WEBAPP_SITE_URL and not WEBAPP_SITE_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured(
        f"WEBAPP_SITE_URL={WEBAPP_SITE_URL!r}: give the whole address, e.g. https://{WEBAPP_SITE_URL}"
    )
NOTIFY_TIMEOUT_S = setting("NOTIFY_TIMEOUT_S", 10.0, float)  # one webhook call, background
NOTIFY_TEST_TIMEOUT_S = setting("NOTIFY_TEST_TIMEOUT_S", 5.0, float)  # the "send a test" button
NOTIFY_RETRY_MIN_S = setting("NOTIFY_RETRY_MIN_S", 5.0, float)
NOTIFY_RETRY_MAX_S = setting("NOTIFY_RETRY_MAX_S", 600.0, float)
NOTIFY_GIVE_UP_AFTER_S = setting("NOTIFY_GIVE_UP_AFTER_S", 86_400.0, float)
# Webhook URLs on loopback (a local receiver) besides Discord's hosts: tests and development only.
NOTIFY_LOOPBACK_WEBHOOKS = setting("NOTIFY_LOOPBACK_WEBHOOKS", False, as_bool)
if NOTIFY_LOOPBACK_WEBHOOKS and not DEBUG:
    raise ImproperlyConfigured(
        "NOTIFY_LOOPBACK_WEBHOOKS is for tests and development and DJANGO_DEBUG is off: in production "
        "only https URLs on Discord's webhook hosts are accepted"
    )
# E-mail through Django's mail backend (SMTP by default). DEFAULT_FROM_EMAIL is the sender.
EMAIL_BACKEND = setting("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = setting("EMAIL_HOST", "localhost")
EMAIL_PORT = setting("EMAIL_PORT", 25, int)
EMAIL_HOST_USER = setting("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = setting("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = setting("EMAIL_USE_TLS", False, as_bool)
EMAIL_TIMEOUT = setting("EMAIL_TIMEOUT", 10, int)
DEFAULT_FROM_EMAIL = setting("DEFAULT_FROM_EMAIL", "highlights@localhost")
