from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from webapp.lib.sources import Source, SourceError, parse_login, parse_source, parse_vod_source
from webapp.streams.models import Stream
from webapp.streams.vod_uploads import ChatUploadError, keep_chat_upload


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
        check_stream_limit(self.user)
        source = cleaned.get("source")
        if isinstance(source, Source) and not cleaned.get("chat_channel"):
            cleaned["chat_channel"] = source.login
        return cleaned


def check_stream_limit(user: AbstractBaseUser) -> None:
    """Refuse one more stream (live or VOD) past MAX_STREAMS_PER_USER."""
    limit = settings.MAX_STREAMS_PER_USER
    if Stream.objects.filter(owner=user).count() >= limit:
        raise forms.ValidationError(
            f"You are already tracking {limit} streams, the most allowed. Delete one before adding another."
        )


class AddVodForm(forms.Form):
    """A past broadcast: a Twitch video link or an ended playlist's URL, and an optional chat file."""

    vod_source = forms.CharField(
        label="Past broadcast link",
        max_length=600,
        help_text="A Twitch VOD link like https://www.twitch.tv/videos/123456789, or an http://, https:// or "
        "hls:// URL of an ended playlist on an allowed host.",
        widget=forms.TextInput(attrs={"placeholder": "https://www.twitch.tv/videos/…", "autocomplete": "off"}),
    )
    chat_file = forms.FileField(
        label="Chat file (optional)",
        required=False,
        help_text="The broadcast's chat: a TwitchDownloader JSON or a raw Twitch IRC log, optionally gzipped. "
        "Only per-segment counts and scores are kept; the file is deleted once it is analysed.",
    )

    def __init__(self, user: AbstractBaseUser, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_vod_source(self) -> str:
        try:
            source = parse_vod_source(self.cleaned_data["vod_source"], settings.ALLOWED_SOURCE_HOSTS)
        except SourceError as exc:
            raise forms.ValidationError(str(exc)) from None
        if Stream.objects.filter(owner=self.user, source=source).exists():
            raise forms.ValidationError(f"You already added {source}.")
        return source

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        check_stream_limit(self.user)
        cleaned["chat_upload"] = ""
        upload = cleaned.get("chat_file")
        if upload and not self.errors:  # kept only once everything else is right: nothing left behind
            try:
                cleaned["chat_upload"] = keep_chat_upload(upload)
            except ChatUploadError as exc:
                self.add_error("chat_file", str(exc))
        return cleaned
