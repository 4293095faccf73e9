"""`{% feedback_panel stream %}`: the stream page's feedback panel (sensitivity, missed moments)."""

from __future__ import annotations

from typing import Any

from django import template

from webapp.feedback.models import threshold_for

register = template.Library()


@register.inclusion_tag("feedback/_panel.html", takes_context=True)
def feedback_panel(context: template.Context, stream: Any) -> dict[str, Any]:
    user = context["request"].user
    chosen = threshold_for(stream)
    return {
        "stream": stream,
        "chosen": chosen,
        "threshold": chosen if chosen is not None else stream.threshold,
        "missed": stream.missed_moments.filter(user=user),
    }
