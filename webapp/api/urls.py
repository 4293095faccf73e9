from django.urls import path

from webapp.api import views

urlpatterns = [
    path("streams/<int:stream_id>/status", views.status, name="api-status"),
    path("streams/<int:stream_id>/segments", views.segments, name="api-segments"),
    path("streams/<int:stream_id>/highlights", views.highlights, name="api-highlights"),
]
