from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from webapp.notifications.models import NotificationSettings
from webapp.notifications.webhooks import WebhookURLError, check_webhook_url


class NotificationSettingsForm(forms.Form):
    """Replace or remove the webhook (the saved one is never sent back to the browser), and turn
    e-mail on or off for an address (kept as the account's e-mail address)."""

    webhook_url = forms.CharField(
        label="Discord webhook URL",
        required=False,
        max_length=500,
        help_text="In Discord: channel settings › Integrations › Webhooks › New Webhook › Copy Webhook URL. "
        "Leave empty to keep the saved one.",
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "placeholder": "https://discord.com/api/webhooks/…"}),
    )
    remove_webhook = forms.BooleanField(label="Remove the saved webhook", required=False)
    email_enabled = forms.BooleanField(label="E-mail me each new highlight", required=False)
    email = forms.EmailField(label="E-mail address", required=False, max_length=254)

    def __init__(self, prefs: NotificationSettings, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"email_enabled": prefs.email_enabled, "email": prefs.user.email})
        super().__init__(*args, **kwargs)
        self.prefs = prefs
        if not prefs.webhook_url:
            del self.fields["remove_webhook"]

    def clean_webhook_url(self) -> str:
        url = self.cleaned_data["webhook_url"].strip()
        if not url:
            return ""
        try:
            return check_webhook_url(url, settings.NOTIFY_LOOPBACK_WEBHOOKS)
        except WebhookURLError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("email_enabled") and not cleaned.get("email") and "email" not in self.errors:
            self.add_error("email", "Give the address the e-mails should go to.")
        if cleaned.get("remove_webhook") and cleaned.get("webhook_url"):
            self.add_error("webhook_url", "Either paste a new webhook URL or remove the saved one, not both.")
        return cleaned

    def save(self) -> list[str]:
        """Store the choices; return what changed, in words."""
        prefs, data, said = self.prefs, self.cleaned_data, []
        if data.get("remove_webhook"):
            prefs.webhook_url, prefs.webhook_error = "", ""
            said.append("The webhook was removed.")
        elif data.get("webhook_url"):
            prefs.webhook_url, prefs.webhook_error = data["webhook_url"], ""
            said.append(f"Saved the webhook {prefs.webhook_masked}.")
        if data.get("email") and data["email"] != prefs.user.email:
            prefs.user.email = data["email"]
            prefs.user.save(update_fields=["email"])
        if data["email_enabled"] != prefs.email_enabled:
            said.append(f"E-mails turned {'on' if data['email_enabled'] else 'off'}.")
        prefs.email_enabled = data["email_enabled"]
        prefs.save()
        return said or ["Saved."]
