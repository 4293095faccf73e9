from __future__ import annotations

import hmac
import json
import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

View = Callable[..., HttpResponse]


def error(msg: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": msg}, status=status)


def _reject_constant(name: str) -> None:
    # Python's json accepts NaN and Infinity; JSON (and SQLite's JSON_VALID) does not.
    raise ValueError(f"{name} is not valid JSON")


def _non_finite(obj: Any, path: str = "") -> str | None:
    """Path of the first number that overflowed to inf (1e999): JSONField could not store it."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return path or "body"
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else []
    for key, value in items:
        sub = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)
        if bad := _non_finite(value, sub):
            return bad
    return None


def authorize(view: View) -> View:
    """Accept only POST with `Authorization: Bearer <INGEST_API_TOKEN>` and a JSON object body.

    The parsed body is passed to the view as `request.json`. Token API, so no CSRF cookie.
    """

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            response = error("method not allowed, use POST", 405)
            response["Allow"] = "POST"
            return response

        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error("missing or malformed Authorization header, expected 'Bearer <token>'", 401)
        if not hmac.compare_digest(token.strip().encode(), settings.INGEST_API_TOKEN.encode()):
            return error("wrong API token", 403)

        try:
            request.json = json.loads(request.body.decode(), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError) as exc:
            return error(f"could not parse request body as JSON: {exc}")
        if not isinstance(request.json, dict):
            return error("request body must be a JSON object")
        if bad := _non_finite(request.json):
            return error(f"{bad}: must be a finite number")

        return view(request, *args, **kwargs)

    return wrapper
