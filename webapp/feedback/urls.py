from django.urls import path

from webapp.feedback import views

urlpatterns = [
    path("streams/<int:stream_id>/feedback.json", views.state, name="feedback-state"),
    path("streams/<int:stream_id>/highlights/<int:highlight_id>/vote/", views.vote, name="feedback-vote"),
    path("streams/<int:stream_id>/missed/", views.mark_missed, name="feedback-missed"),
    path("streams/<int:stream_id>/missed/<int:moment_id>/delete/", views.unmark_missed, name="feedback-unmark"),
    path("streams/<int:stream_id>/budget/", views.budget, name="feedback-budget"),
    path("feedback/retrain/", views.retrain, name="feedback-retrain"),
]
