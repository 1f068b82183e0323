"""Activity entries for SCIM requests: what changed (attribute *names*), for which user, with
which outcome. Values are recorded only when a deployment sets ``activity.log_values``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.activity import ActivityEntry, Journal, activity_time

#: Keys that are the service provider's bookkeeping, not attributes a client changes.
_NOT_ATTRIBUTES = frozenset({"schemas", "id", "meta"})

#: The status each write answers when it succeeds (RFC 7644 §3.3, §3.5.1, §3.5.2, §3.6).
_WRITE_STATUS = {"create": 201, "replace": 200, "patch": 200, "delete": 204}
_WRITE_METHOD = {"create": "POST", "replace": "PUT", "patch": "PATCH", "delete": "DELETE"}


def changed_attributes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The names of the attributes that differ, sorted: ``title``, ``name.givenName`` (one
    level into complex attributes), ``emails`` (a multi-valued attribute as a whole), and
    ``urn:...:enterprise:2.0:User:department`` for an extension's attributes."""
    names: set[str] = set()
    old, new = dict(before or {}), dict(after or {})
    for key in (old.keys() | new.keys()) - _NOT_ATTRIBUTES:
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if key.startswith("urn:") and (isinstance(a, Mapping) or isinstance(b, Mapping)):
            inner = dict(a or {}) if isinstance(a, Mapping) else {}
            outer = dict(b or {}) if isinstance(b, Mapping) else {}
            names.update(f"{key}:{name}" for name in inner.keys() | outer.keys() if inner.get(name) != outer.get(name))
        elif isinstance(a, Mapping) or isinstance(b, Mapping):
            inner = dict(a) if isinstance(a, Mapping) else {}
            outer = dict(b) if isinstance(b, Mapping) else {}
            subs = [f"{key}.{name}" for name in inner.keys() | outer.keys() if inner.get(name) != outer.get(name)]
            names.update(subs or [key])
        else:
            names.add(key)
    return tuple(sorted(names))


def _values(after: Mapping[str, Any] | None, names: tuple[str, ...]) -> dict[str, Any]:
    """The new values of ``names`` (None where the write removed one)."""
    out: dict[str, Any] = {}
    resource = dict(after or {})
    for name in names:
        if name.startswith("urn:"):
            urn, _, attribute = name.rpartition(":")
            block = resource.get(urn)
            out[name] = block.get(attribute) if isinstance(block, Mapping) else None
        elif "." in name:
            parent, _, sub = name.partition(".")
            holder = resource.get(parent)
            out[name] = holder.get(sub) if isinstance(holder, Mapping) else None
        else:
            out[name] = resource.get(name)
    return out


@dataclass(frozen=True)
class ActivitySettings:
    """``[activity]``: whether entries are kept at all, with values or not, and for how long."""

    enabled: bool = True
    log_values: bool = False
    retention_days: int = 90


def write_journal(settings: ActivitySettings, tenant: str, operation: str, request_id: str) -> Journal:
    """The :data:`~adapters.activity.Journal` of one write: called with the user before and
    after it (inside the adapter's transaction when the adapter journals writes)."""

    def journal(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> ActivityEntry:
        subject = after if after is not None else before
        names = changed_attributes(before, after) if operation != "delete" else ()
        return ActivityEntry(
            time=activity_time(), tenant=tenant, method=_WRITE_METHOD[operation], operation=operation,
            resource_id=None if subject is None else subject.get("id"),
            user_name=None if subject is None else subject.get("userName"),
            attributes=names, status=_WRITE_STATUS[operation], scim_type=None, request_id=request_id,
            values=_values(after, names) if settings.log_values and names else None)

    return journal


#: The longest resource id and userName a refusal's entry keeps (a refused request's path id can be
#: as long as the URL: 8,000 characters a row, sent by anyone).
MAX_REFUSED_TEXT = 256
#: What no storage is asked to keep: U+0000 (PostgreSQL's text refuses it) and surrogate code points
#: (not Unicode scalar values: UTF-8 cannot encode them). A decoded JSON string or path keeps a
#: surrogate only when it came unpaired.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: str | None) -> str | None:
    """A refused request's id or userName as its entry keeps it: cut to :data:`MAX_REFUSED_TEXT`,
    each unstorable character U+FFFD. Both come from anyone's request: a ``%00`` in a path id was an
    entry PostgreSQL refused for good, and the entries queued behind it were never stored."""
    return None if text is None else _UNSTORABLE.sub("\ufffd", text[:MAX_REFUSED_TEXT])


def refusal(tenant: str, method: str, operation: str, status: int, scim_type: str | None, request_id: str, *,
            resource_id: str | None = None, user_name: str | None = None) -> ActivityEntry:
    """The entry of a refused request (any 4xx or 5xx, authentication failures included)."""
    return ActivityEntry(time=activity_time(), tenant=tenant, method=method, operation=operation,
                         resource_id=_storable(resource_id), user_name=_storable(user_name), attributes=(),
                         status=status, scim_type=scim_type, request_id=request_id)
