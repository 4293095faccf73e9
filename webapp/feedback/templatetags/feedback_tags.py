"""`{% feedback_panel stream %}`: the stream page's feedback panel (highlight budget, missed moments)."""

from __future__ import annotations

from typing import Any

from django import template

from metamodel.selection import MAX_PER_HOUR, MIN_PER_HOUR
from webapp.feedback.budget import STEPS, describe, model_budget, nearest_step
from webapp.feedback.models import budget_for

register = template.Library()


@register.inclusion_tag("feedback/_panel.html", takes_context=True)
def feedback_panel(context: template.Context, stream: Any) -> dict[str, Any]:
    user = context["request"].user
    chosen = budget_for(stream)
    default = model_budget()
    per_hour = chosen if chosen is not None else default
    return {
        "stream": stream,
        "chosen": chosen,
        "default": default,
        "per_hour": per_hour,
        "text": describe(per_hour, chosen is not None),
        "step": nearest_step(per_hour),
        "last_step": len(STEPS) - 1,
        "steps": ",".join(f"{s:g}" for s in STEPS),
        "min_per_hour": MIN_PER_HOUR,
        "max_per_hour": MAX_PER_HOUR,
        "missed": stream.missed_moments.filter(user=user),
    }
