"""The JSON name of a parsed value's type (RFC 8259 §3), for error details: a client is told
``null`` or ``a number``, never a Python class name such as ``NoneType``."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

#: How much of a value the client sent an error detail repeats (a PATCH path of 20,000 characters
#: was repeated twice in a 400's detail: a security review).
SHOWN_CHARS = 60


def json_type(value: Any) -> str:
    """``"null"``, ``"a boolean"``, ``"a number"``, ``"a string"``, ``"an array"`` or ``"an object"``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    return "an object"


def shown_json(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``value`` as an error detail repeats it: a string, number, boolean or null as JSON, cut at
    ``limit`` characters, control and format characters (a right-to-left override) escaped; an
    object or an array by its type alone (it may hold anything, a password too: one was shown as
    a Python dict)."""
    if not (value is None or isinstance(value, (str, int, float))):
        return json_type(value)
    text = json.dumps(value, ensure_ascii=False)
    text = "".join(f"\\u{ord(c):04x}" if unicodedata.category(c)[0] == "C" else c for c in text[:limit + 1])
    return text if len(text) <= limit else f"{text[:limit]}... (cut)"
