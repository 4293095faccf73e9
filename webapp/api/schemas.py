"""The bodies of the ingest API, as in docs/contract.md."""

from webapp.lib.jsonschema import Schema

NUMBER: Schema = {"type": "number"}
OFFSET: Schema = {"type": "number", "minimum": 0}
DATETIME: Schema = {"type": "string", "format": "datetime"}
URL: Schema = {"type": "string", "format": "url", "maxLength": 1000}
# PositiveIntegerField's range: a bigger number cannot be stored (PostgreSQL refuses it outright).
COUNT: Schema = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}

status: Schema = {
    "type": "object",
    "properties": {
        "state": {"type": "string", "enum": ["starting", "live", "offline", "error", "stopped", "finished"]},
        "segments_done": COUNT,
        "last_error": {"type": ["string", "null"], "maxLength": 2000},
        "degraded": {"type": "array", "maxItems": 50, "items": {"type": "string", "maxLength": 500}},
        # A VOD job's progress (docs/contract.md): seconds in the recording, share done, time left.
        "kind": {"type": "string", "enum": ["live", "vod"]},
        "duration_s": {"type": ["number", "null"], "minimum": 0},
        "progress": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "eta_s": {"type": ["number", "null"], "minimum": 0},
    },
    "required": ["state"],
}

segment: Schema = {
    "type": "object",
    "properties": {
        "seq": COUNT,
        "start_utc": DATETIME,
        "end_utc": DATETIME,
        "offset_s": OFFSET,
        "duration_s": OFFSET,
        "score": NUMBER,
        "features": {"type": "object"},
    },
    "required": ["seq", "start_utc", "end_utc", "offset_s", "duration_s", "score"],
}

segments: Schema = {
    "type": "object",
    "properties": {
        "segments": {"type": "array", "maxItems": 1000, "items": segment},
        # The bar (historical name): the score the selector held the latest segment to; null
        # while it warms up.
        "threshold": {"type": ["number", "null"]},
    },
    "required": ["segments"],
}

reason: Schema = {
    "type": "object",
    "properties": {
        "feature": {"type": "string", "maxLength": 100},
        "value": NUMBER,
        "text": {"type": "string", "maxLength": 500},
    },
    "required": ["feature", "value", "text"],
}

highlight: Schema = {
    "type": "object",
    "properties": {
        "key": {"type": "string", "minLength": 1, "maxLength": 100},
        "start_utc": DATETIME,
        "end_utc": DATETIME,
        "start_offset_s": OFFSET,
        "end_offset_s": OFFSET,
        "score": NUMBER,
        "clip_url": URL,
        "thumbnail_url": {**URL, "type": ["string", "null"]},
        "reasons": {"type": "array", "maxItems": 50, "items": reason},
    },
    "required": [
        "key",
        "start_utc",
        "end_utc",
        "start_offset_s",
        "end_offset_s",
        "score",
        "clip_url",
        "reasons",
    ],
}
