import logging

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "webapp.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from webapp.notifications import signals, worker
        from webapp.notifications.webhooks import RedactWebhookTokens
        from webapp.streams.sync import add_background_step

        signals.connect()
        # The webapp's one background thread (webapp/streams/sync.py) also sends notifications.
        add_background_step("notifications", worker.background_step)
        logging.getLogger("urllib3.connectionpool").addFilter(RedactWebhookTokens())
