"""Parse a JSON request body within limits, for both APIs (the webapp's ingest API, the server's).

Python's json module follows nesting until the interpreter's recursion limit and then raises
RecursionError, which is not a ValueError: every handler that caught only ValueError answered 500
to `[[[[...]]]]`. Here any bad body is a `JSONBodyError` (a ValueError) whose message can go back
to the client in a 400 answer. Top level, like appconfig.py, because webapp/ and server/ both use it.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32  # the contract's deepest document (segment features) is 3 levels


class JSONBodyError(ValueError):
    """The body is not JSON, or JSON outside the limits; the message says which, for a 400."""


def _reject_constant(name: str) -> None:
    # Python's json accepts NaN and Infinity; JSON (and SQLite's JSON_VALID) does not.
    raise JSONBodyError(f"{name} is not valid JSON")


def parse_json_body(raw: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The document in `raw` (UTF-8 JSON), nested at most `max_depth` arrays/objects deep."""
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        raise JSONBodyError(f"JSON nested more than {max_depth} levels deep") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise JSONBodyError(f"could not parse request body as JSON: {exc}") from exc
    if depth(doc) > max_depth:
        raise JSONBodyError(f"JSON nested more than {max_depth} levels deep")
    return doc


def depth(doc: Any) -> int:
    """How many arrays/objects deep `doc` nests (a scalar is 0); iterative, so never recursion-bound."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest
