from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from webapp.lib.sources import Source, SourceError, parse_login, parse_source
from webapp.streams.models import Stream


class AddStreamForm(forms.Form):
    source = forms.CharField(
        label="Twitch channel or stream URL",
        max_length=600,
        help_text="A channel name like “xqcow”, a link like https://www.twitch.tv/xqcow, "
        "or an http://, https:// or hls:// stream URL from an allowed host.",
        widget=forms.TextInput(attrs={"placeholder": "xqcow", "autocomplete": "off"}),
    )
    chat_channel = forms.CharField(
        label="Chat channel (optional)",
        required=False,
        max_length=100,
        help_text="Whose Twitch chat to read. Defaults to the channel itself; leave empty for a URL without chat.",
    )

    def __init__(self, user: AbstractBaseUser, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_source(self) -> Source:
        try:
            source = parse_source(self.cleaned_data["source"], settings.ALLOWED_SOURCE_HOSTS)
        except SourceError as exc:
            raise forms.ValidationError(str(exc)) from None
        if Stream.objects.filter(owner=self.user, source=source.value).exists():
            raise forms.ValidationError(f"You are already tracking {source.value}.")
        return source

    def clean_chat_channel(self) -> str | None:
        text = self.cleaned_data["chat_channel"].strip()
        if not text:
            return None
        try:
            return parse_login(text)
        except SourceError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        limit = settings.MAX_STREAMS_PER_USER
        if Stream.objects.filter(owner=self.user).count() >= limit:
            raise forms.ValidationError(
                f"You are already tracking {limit} streams, the most allowed. Delete one before adding another."
            )
        source = cleaned.get("source")
        if isinstance(source, Source) and not cleaned.get("chat_channel"):
            cleaned["chat_channel"] = source.login
        return cleaned
