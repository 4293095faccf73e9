from django.urls import path

from webapp.streams import clips, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("streams/status.json", views.streams_status, name="streams-status"),
    path("streams/<int:stream_id>/", views.stream_detail, name="stream"),
    path("streams/<int:stream_id>/status.json", views.stream_status, name="stream-status"),
    path("streams/<int:stream_id>/delete/", views.delete_stream, name="stream-delete"),
    path(
        "streams/<int:stream_id>/highlights/<int:highlight_id>/download/",
        clips.download_clip,
        name="highlight-download",
    ),
]
