from __future__ import annotations

import hmac
import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from jsonbody import JSONBodyError, parse_json_body

View = Callable[..., HttpResponse]


def error(msg: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": msg}, status=status)


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

        try:  # read only now, after the token: a stranger's body is never read
            request.json = parse_json_body(request.body)
        except RequestDataTooBig:
            return error(f"request body larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes", 413)
        except JSONBodyError as exc:
            return error(str(exc))
        if not isinstance(request.json, dict):
            return error("request body must be a JSON object")
        if bad := _non_finite(request.json):
            return error(f"{bad}: must be a finite number")

        return view(request, *args, **kwargs)

    return wrapper
