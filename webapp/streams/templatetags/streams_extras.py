from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def hms(seconds: float | int | None) -> str:
    """Format an offset in seconds as h:mm:ss: 3723.4 -> "1:02:03", 75 -> "0:01:15"."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
