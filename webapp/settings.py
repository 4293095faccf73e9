"""Django settings. Every value comes from `appconfig.setting()`: environment, then `config.py`,
then the default here. `config.example.py` documents the keys.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from appconfig import as_bool, as_list, setting

BASE_DIR = Path(__file__).resolve().parent
REPO_DIR = BASE_DIR.parent
VAR_DIR = REPO_DIR / "var"

DEBUG = setting("DJANGO_DEBUG", True, as_bool)

_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"
SECRET_KEY = setting("DJANGO_SECRET_KEY", None)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false")
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = setting("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"], as_list)
CSRF_TRUSTED_ORIGINS = setting("DJANGO_CSRF_TRUSTED_ORIGINS", [], as_list)

# The processing server (see docs/contract.md).
SERVER_URL = setting("SERVER_URL", "http://127.0.0.1:5000").rstrip("/")
SERVER_API_TOKEN = setting("SERVER_API_TOKEN", "dev-server-token")
# Streams waiting for the processing server are retried by a background thread this often (s);
# 0 turns the thread off (then run `manage.py sync_jobs --loop`). Pages never call the server.
JOB_SYNC_INTERVAL_S = setting("JOB_SYNC_INTERVAL_S", 2.0, float)
INGEST_API_TOKEN = setting("INGEST_API_TOKEN", "dev-ingest-token")
WEBAPP_PUBLIC_URL = setting("WEBAPP_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# Which stream URL hosts a user may submit; Twitch channel names are always accepted.
ALLOWED_SOURCE_HOSTS = [h.lower() for h in setting("ALLOWED_SOURCE_HOSTS", [], as_list)]
MAX_STREAMS_PER_USER = setting("MAX_STREAMS_PER_USER", 10, int)
# The processing server's model file: staff retraining writes here and the server reloads it.
METAMODEL_PATH = setting("METAMODEL_PATH", None, Path)
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

DATABASE_PATH = Path(setting("DATABASE_PATH", str(VAR_DIR / "db.sqlite3")))
DATABASE_PATH.parent.mkdir(parents=True, exist_ok=True)
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
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start if it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed names need `manage.py collectstatic`; in debug files are served as-is.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"webapp": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
