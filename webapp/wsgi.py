"""WSGI entry point (`waitress-serve webapp.wsgi:application`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

application = get_wsgi_application()

# Only a serving process loads this module (waitress, runserver): tests and management commands
# do not, so they start no thread.
from webapp.streams.sync import start_background_sync  # noqa: E402  (needs the apps loaded)

start_background_sync()
