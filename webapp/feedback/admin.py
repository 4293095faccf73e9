from django.contrib import admin

from webapp.feedback.models import HighlightBudget, MissedMoment, TrainingRun, Vote


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ("highlight", "user", "value", "updated")
    list_filter = ("value",)
    raw_id_fields = ("user", "highlight")


@admin.register(MissedMoment)
class MissedMomentAdmin(admin.ModelAdmin):
    list_display = ("stream", "offset_s", "user", "created")
    raw_id_fields = ("user", "stream")


@admin.register(HighlightBudget)
class HighlightBudgetAdmin(admin.ModelAdmin):
    list_display = ("stream", "per_hour", "updated")
    raw_id_fields = ("stream",)


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("started", "state", "started_by", "rows", "per_hour", "finished")
    list_filter = ("state",)
    readonly_fields = [f.name for f in TrainingRun._meta.fields]
