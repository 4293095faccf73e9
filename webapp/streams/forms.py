from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from webapp.lib.sources import Source, SourceError, parse_login, parse_source, parse_vod_source
from webapp.streams.models import UPLOAD_PREFIX, Stream
from webapp.streams.vod_uploads import ChatUploadError, delete_upload, keep_chat_upload, keep_recording_upload


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
    """A past broadcast: a Twitch video link, an ended playlist's URL or an uploaded recording,
    and an optional chat file."""

    vod_source = forms.CharField(
        label="Past broadcast link",
        required=False,
        max_length=600,
        help_text="A Twitch VOD link like https://www.twitch.tv/videos/123456789, or an http://, https:// or "
        "hls:// URL of an ended playlist on an allowed host.",
        widget=forms.TextInput(attrs={"placeholder": "https://www.twitch.tv/videos/…", "autocomplete": "off"}),
    )
    recording = forms.FileField(
        label="…or upload a recording",
        required=False,
        help_text="A video file (mp4, mkv, ts, …) instead of a link; it is deleted once it is analysed.",
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
        if settings.VOD_MAX_RECORDING_BYTES <= 0:  # recording uploads are off on this site
            del self.fields["recording"]

    def clean_vod_source(self) -> str:
        text = self.cleaned_data["vod_source"].strip()
        if not text:
            return ""  # an uploaded recording instead (clean() checks there is one)
        try:
            source = parse_vod_source(text, settings.ALLOWED_SOURCE_HOSTS)
        except SourceError as exc:
            raise forms.ValidationError(str(exc)) from None
        if Stream.objects.filter(owner=self.user, source=source).exists():
            raise forms.ValidationError(f"You already added {source}.")
        return source

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        check_stream_limit(self.user)
        cleaned["chat_upload"] = cleaned["recording_upload"] = ""
        recording = cleaned.get("recording")
        if "vod_source" in cleaned and bool(cleaned["vod_source"]) == bool(recording):
            self.add_error("vod_source", "Give either a link to the past broadcast or a recording to upload.")
        elif recording:
            cleaned["vod_source"] = UPLOAD_PREFIX + Path(recording.name).name[:200]
            if Stream.objects.filter(owner=self.user, source=cleaned["vod_source"]).exists():
                self.add_error("recording", f"You already added a recording named {Path(recording.name).name}.")
        # Kept only once everything else is right, and never one without the other: nothing left behind.
        for field, key, keep in (("recording", "recording_upload", keep_recording_upload),
                                 ("chat_file", "chat_upload", keep_chat_upload)):  # fmt: skip
            if cleaned.get(field) and not self.errors:
                try:
                    cleaned[key] = keep(cleaned[field])
                except ChatUploadError as exc:
                    self.add_error(field, str(exc))
        if self.errors:
            for key in ("recording_upload", "chat_upload"):
                delete_upload(cleaned[key])
                cleaned[key] = ""
        return cleaned
