"""Production is the default and the safe case (issue 11, findings 1 and 4): the webapp refuses to
start on a missing, published or short secret; a generated secrets file is enough to run it;
`check --deploy` is clean with the README's production settings; and the real waitress process
serves pages and static files without collectstatic, redirects to HTTPS, and refuses a huge body
before reading it. Each runs `manage.py` or `python -m webapp` as a real process."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from production import ROOT, assert_huge_body_refused_unread, isolated_env, running

from appconfig import DEV_SECRETS
from appsecrets import ensure_secrets, new_secrets
from server.demo.stack import free_port

# The README's production settings (behind a TLS proxy), secrets aside.
PRODUCTION = {
    "DJANGO_ALLOWED_HOSTS": "highlights.example.com,127.0.0.1",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://highlights.example.com",
    "WEBAPP_TRUSTED_PROXY": "127.0.0.1",
}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_without_a_secret_the_webapp_refuses_to_start_and_says_which(tmp_path):
    done = manage(isolated_env(tmp_path, **PRODUCTION), "check")
    assert done.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set and DJANGO_DEBUG is off" in done.stderr
    assert "python -m appsecrets" in done.stderr


@pytest.mark.parametrize("name", list(DEV_SECRETS))
def test_a_published_default_or_short_secret_is_refused_by_name(tmp_path, name):
    for bad, words in [(DEV_SECRETS[name], "is a published development default"), ("x" * 31, "is shorter than")]:
        done = manage(isolated_env(tmp_path, **PRODUCTION, **{**new_secrets(), name: bad}), "check")
        assert done.returncode != 0
        assert f"ImproperlyConfigured: {name} {words}" in done.stderr


def test_debug_must_be_asked_for_and_then_keeps_the_development_defaults(tmp_path):
    assert manage(isolated_env(tmp_path), "check").returncode != 0, "no DJANGO_DEBUG means production"
    done = manage(
        isolated_env(tmp_path, DJANGO_DEBUG="true"),
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DEBUG, s.SERVER_API_TOKEN, s.INGEST_API_TOKEN)",
    )
    assert done.stdout.split()[-3:] == ["True", "dev-server-token", "dev-ingest-token"], done.stderr


def test_the_generated_secrets_file_is_private_and_enough_for_a_clean_deploy_check(tmp_path):
    env = isolated_env(tmp_path, **PRODUCTION)
    path = ensure_secrets(tmp_path / "no-secrets.env")  # the file isolated_env names
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text()
    ensure_secrets(path)
    assert path.read_text() == first, "made once: a new key would log everyone out"
    done = manage(env, "check", "--deploy")
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_the_sqlite_database_is_readable_by_its_owner_only(tmp_path):
    env = isolated_env(tmp_path, **new_secrets())
    assert manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    files = list((tmp_path / "db").glob("db.sqlite3*"))
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files), {
        f.name: oct(f.stat().st_mode) for f in files
    }
    assert stat.S_IMODE((tmp_path / "db").stat().st_mode) == 0o700


@pytest.fixture(scope="module")
def webapp(tmp_path_factory):
    """`python -m webapp` in production mode on a free port, behind a (pretend) TLS proxy."""
    tmp_path = tmp_path_factory.mktemp("production-webapp")
    env = isolated_env(tmp_path, **PRODUCTION)
    ensure_secrets(tmp_path / "no-secrets.env")
    assert manage(env, "migrate", "--noinput", "-v", "0").returncode == 0
    port = free_port()
    with running(
        [sys.executable, "-m", "webapp", f"--listen=127.0.0.1:{port}"],
        env,
        f"http://127.0.0.1:{port}",
        tmp_path / "webapp.log",
    ):
        yield port, f"http://127.0.0.1:{port}"


HTTPS = {"X-Forwarded-Proto": "https"}


def test_pages_and_their_static_files_answer_without_collectstatic(webapp):
    _, url = webapp
    page = requests.get(f"{url}/accounts/login/", headers=HTTPS, timeout=10)
    assert page.status_code == 200
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
    assert stylesheets
    for href in stylesheets:
        css = requests.get(url + href, headers=HTTPS, timeout=10)
        assert (css.status_code, css.headers["Content-Type"].split(";")[0]) == (200, "text/css")


def test_plain_http_is_sent_to_https_and_https_gets_hsts_and_secure_cookies(webapp):
    _, url = webapp
    plain = requests.get(f"{url}/accounts/login/", timeout=10, allow_redirects=False)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
    secure = requests.get(f"{url}/accounts/login/", headers=HTTPS, timeout=10)
    assert "max-age=31536000" in secure.headers["Strict-Transport-Security"]
    assert re.search(r"csrftoken=[^,]*; .*Secure", secure.headers["Set-Cookie"])


def test_the_ingest_api_is_not_redirected_and_still_wants_its_token(webapp):
    _, url = webapp
    r = requests.post(f"{url}/api/v1/streams/1/status", json={"state": "live"}, timeout=10, allow_redirects=False)
    assert r.status_code == 401 and "Authorization" in r.json()["error"]


def test_a_gigabyte_body_without_a_token_is_refused_before_it_is_sent(webapp):
    port, _ = webapp
    assert_huge_body_refused_unread(port, "/api/v1/streams/1/status")


def test_python_m_appsecrets_writes_three_long_random_secrets_once(tmp_path):
    env = isolated_env(tmp_path)
    path = tmp_path / "no-secrets.env"
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "appsecrets"], env=env, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0 and str(path) in done.stdout
    values = dict(line.split("=", 1) for line in path.read_text().splitlines() if not line.startswith("#"))
    assert sorted(values) == sorted(DEV_SECRETS)
    assert len(values["SERVER_API_TOKEN"]) >= 43 and len(values["DJANGO_SECRET_KEY"]) >= 60
    assert len(set(values.values())) == 3
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_download_button_follows_the_servers_storage_settings_by_default(tmp_path):
    show = "from django.conf import settings as s; import json; print(json.dumps(s.CLIP_STORAGE_URLS))"
    for storage, expected in [
        ({}, ["http://127.0.0.1:5000/media"]),
        ({"SERVER_PORT": "5055"}, ["http://127.0.0.1:5055/media"]),
        ({"STORAGE_BACKEND": "gcs", "GCS_BUCKET": "clips"}, ["https://storage.googleapis.com/clips"]),
        ({"CLIP_STORAGE_URLS": "https://a.example/x,https://b.example"}, ["https://a.example/x", "https://b.example"]),
    ]:
        done = manage(isolated_env(tmp_path, DJANGO_DEBUG="true", **storage), "shell", "-c", show)
        assert json.loads(done.stdout.splitlines()[-1]) == expected, done.stderr


def test_database_url_selects_postgresql_with_its_options():
    from webapp.lib.database import database_from_url

    db = database_from_url("postgres://high%40lights:p%2Fss@db.internal:5433/highlights?sslmode=require")
    assert (db["ENGINE"], db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["OPTIONS"]) == (
        "django.db.backends.postgresql",
        "highlights",
        "high@lights",
        "p/ss",
        "db.internal",
        "5433",
        {"sslmode": "require"},
    )
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL must look like postgres://"):
        database_from_url("mysql://u:p@h/db")


def test_the_https_settings_are_settings_not_code(tmp_path):
    show = (
        "from django.conf import settings as s; import json; print(json.dumps([s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER]))"
    )
    for settings, expected in [
        ({}, [True, True, True, 31536000, None]),
        ({"DJANGO_HTTPS": "false"}, [False, False, False, 0, None]),
        (
            {"DJANGO_HSTS_SECONDS": "600", "DJANGO_PROXY_SSL_HEADER": "X-Forwarded-Proto"},
            [True, True, True, 600, ["HTTP_X_FORWARDED_PROTO", "https"]],
        ),
    ]:
        done = manage(isolated_env(tmp_path, **new_secrets(), **settings), "shell", "-c", show)
        assert json.loads(done.stdout.splitlines()[-1]) == expected, done.stderr
