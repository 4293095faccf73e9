"""A small declarative validator for the ingest API's JSON bodies.

Supports the subset the contract needs: objects (`properties`, `required`), arrays (`items`,
`maxItems`), strings (`minLength`, `maxLength`, `format`: "url" or "datetime"), finite numbers,
integers (both with `minimum` and `maximum`), booleans, `enum` and `null` via `"type": [..., "null"]`.
The first problem is raised as `ValidationError("<path>: <what is wrong>")`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.utils.dateparse import parse_datetime

Schema = dict[str, Any]


class ValidationError(ValueError):
    """Raised by `validate` with the path of the offending field first in the message."""


def validate(obj: Any, schema: Schema, path: str = "body") -> None:
    """Raise ValidationError unless `obj` matches `schema`."""
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if obj is None and "null" in types:
        return
    kind = types[0]
    _CHECKS[kind](obj, schema, path)
    if "enum" in schema and obj not in schema["enum"]:
        raise ValidationError(f"{path}: must be one of {', '.join(map(str, schema['enum']))}")


def _check_object(obj: Any, schema: Schema, path: str) -> None:
    if not isinstance(obj, dict):
        raise ValidationError(f"{path}: must be an object")
    for key in schema.get("required", []):
        if key not in obj:
            raise ValidationError(f"{_join(path, key)}: is required")
    for key, sub in schema.get("properties", {}).items():
        if key in obj:
            validate(obj[key], sub, _join(path, key))


def _check_array(obj: Any, schema: Schema, path: str) -> None:
    if not isinstance(obj, list):
        raise ValidationError(f"{path}: must be a list")
    if "maxItems" in schema and len(obj) > schema["maxItems"]:
        raise ValidationError(f"{path}: at most {schema['maxItems']} items")
    for i, item in enumerate(obj):
        validate(item, schema["items"], f"{path}[{i}]")


def _check_string(obj: Any, schema: Schema, path: str) -> None:
    if not isinstance(obj, str):
        raise ValidationError(f"{path}: must be a string")
    if len(obj) < schema.get("minLength", 0):
        raise ValidationError(f"{path}: must not be empty")
    if len(obj) > schema.get("maxLength", 10_000):
        raise ValidationError(f"{path}: too long")
    fmt = schema.get("format")
    if fmt == "url" and not is_http_url(obj):
        raise ValidationError(f"{path}: must be an http(s) URL")
    if fmt == "datetime" and parse_utc(obj) is None:
        raise ValidationError(f"{path}: must be an ISO 8601 date-time with a time zone")


def _check_number(obj: Any, schema: Schema, path: str) -> None:
    # bool is an int in Python, but `true` is not a number in JSON.
    if isinstance(obj, bool) or not isinstance(obj, (int, float)) or not math.isfinite(obj):
        raise ValidationError(f"{path}: must be a finite number")
    if "minimum" in schema and obj < schema["minimum"]:
        raise ValidationError(f"{path}: must be at least {schema['minimum']}")
    if "maximum" in schema and obj > schema["maximum"]:
        raise ValidationError(f"{path}: must be at most {schema['maximum']}")


def _check_integer(obj: Any, schema: Schema, path: str) -> None:
    if isinstance(obj, bool) or not isinstance(obj, int):
        raise ValidationError(f"{path}: must be an integer")
    _check_number(obj, schema, path)


def _check_boolean(obj: Any, schema: Schema, path: str) -> None:
    if not isinstance(obj, bool):
        raise ValidationError(f"{path}: must be true or false")


_CHECKS = {
    "object": _check_object,
    "array": _check_array,
    "string": _check_string,
    "number": _check_number,
    "integer": _check_integer,
    "boolean": _check_boolean,
}


def _join(path: str, key: str) -> str:
    return key if path == "body" else f"{path}.{key}"


def is_http_url(text: str) -> bool:
    """True for an absolute http:// or https:// URL with a host."""
    try:
        parts = urlsplit(text)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(ch.isspace() for ch in text)
    except ValueError:
        return False


def parse_utc(text: str) -> datetime | None:
    """Parse an ISO 8601 date-time with a zone ("...Z" or "+00:00") to UTC; None if it is not one."""
    try:
        value = parse_datetime(text)
    except ValueError:
        return None
    if value is None or value.tzinfo is None:
        return None
    return value.astimezone(UTC)
