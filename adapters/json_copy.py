"""``copy_json``: a deep copy of a JSON value (what ``json.loads`` builds), made for speed.

SCIM resources are trees of dicts, lists and immutable scalars. ``copy.deepcopy`` handles any
object graph (memo table, shared references, ``__deepcopy__`` hooks) and costs several times
more; on a PATCH it was the largest single Python cost after validation (bench/load.py).
Anything that is not a dict, list or JSON scalar (a tuple, a custom object) is handed to
``copy.deepcopy``, so the result is always a copy that shares nothing mutable.
"""

from __future__ import annotations

import copy
from typing import Any

_SCALARS = (str, int, float, bool, type(None))


def copy_json(value: Any) -> Any:
    """A deep copy of ``value``: new dicts and lists all the way down, scalars shared."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    if isinstance(value, _SCALARS):
        return value
    return copy.deepcopy(value)
