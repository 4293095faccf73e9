from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("webapp.accounts.urls")),
    path("api/v1/", include("webapp.api.urls")),
    path("", include("webapp.streams.urls")),
    path("", include("webapp.feedback.urls")),
    path("", include("webapp.notifications.urls")),
]
