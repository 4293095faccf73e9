from django.contrib import admin

from webapp.notifications.models import Delivery


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The queue, for staff looking into "my messages do not arrive". The settings (which hold the
    webhook secret) are deliberately not in the admin."""

    list_display = ["id", "highlight", "channel", "state", "attempts", "next_attempt_at", "sent_at", "last_error"]
    list_filter = ["state", "channel"]
    readonly_fields = ["highlight", "channel", "attempts", "retry_delay_s", "sent_at", "created"]
