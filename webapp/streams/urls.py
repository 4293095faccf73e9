from django.urls import path

from webapp.streams import clips, renders, views

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
    path("streams/<int:stream_id>/highlights/<int:highlight_id>/renders/", renders.start_render, name="render-start"),
    path("streams/<int:stream_id>/renders/<int:render_id>.json", renders.render_status, name="render-status"),
    path("streams/<int:stream_id>/renders/<int:render_id>/download/", renders.download_render, name="render-download"),
]
