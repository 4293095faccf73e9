"""Run the webapp's `django.test.TestCase` classes under plain pytest (no pytest-django).

Django is set up at import; one session fixture does what Django's test runner would: the test
environment (locmem mail, a fast password hasher, static files without a manifest) and a test
database, torn down at the end of the session.
"""

from __future__ import annotations

import os
import secrets

import django
import pytest

os.environ["DJANGO_SETTINGS_MODULE"] = "webapp.settings"
# The tests run the production settings (DJANGO_DEBUG off), with their own secrets and over plain
# HTTP (Django's test client), whatever this machine's environment, config.py or var/secrets.env say.
os.environ.update(
    {
        "DJANGO_DEBUG": "false",
        "DJANGO_HTTPS": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "SERVER_API_TOKEN": secrets.token_urlsafe(32),
        "INGEST_API_TOKEN": secrets.token_urlsafe(32),
    }
)
django.setup()


@pytest.fixture(scope="session", autouse=True)
def django_test_database():
    from django.test.utils import (
        override_settings,
        setup_databases,
        setup_test_environment,
        teardown_databases,
        teardown_test_environment,
    )

    setup_test_environment(debug=False)
    # Plain static storage: templates render without a collectstatic manifest whatever DEBUG is.
    storages = override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    storages.enable()
    old_config = setup_databases(verbosity=0, interactive=False)
    yield
    teardown_databases(old_config, verbosity=0)
    storages.disable()
    teardown_test_environment()
