from django.contrib import admin

from webapp.streams.models import Highlight, Segment, Stream


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = ("id", "source", "owner", "state", "segments_done", "created")
    list_filter = ("state",)
    search_fields = ("source", "owner__username")
    raw_id_fields = ("owner",)


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("stream", "seq", "offset_s", "score", "start_utc")
    list_select_related = ("stream",)
    raw_id_fields = ("stream",)


@admin.register(Highlight)
class HighlightAdmin(admin.ModelAdmin):
    list_display = ("key", "stream", "score", "start_offset_s", "created")
    list_select_related = ("stream",)
    search_fields = ("key",)
    raw_id_fields = ("stream",)
