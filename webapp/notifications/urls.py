from django.urls import path

from webapp.notifications import views

urlpatterns = [
    path("notifications/", views.notification_settings, name="notifications"),
    path("notifications/test/", views.send_test, name="notifications-test"),
]
