"""The JSON name of a parsed value's type (RFC 8259 §3), for error details: a client is told
``null`` or ``a number``, never a Python class name such as ``NoneType``."""

from __future__ import annotations

from typing import Any


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
