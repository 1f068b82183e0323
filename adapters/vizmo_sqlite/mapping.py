"""Pure mapping between a Vizmo ``employees`` row (plus its ``scim_users`` row) and a SCIM User.

No I/O here. The legacy columns hold what the portal uses; every other SCIM attribute Entra
sends is kept, in canonical SCIM shape, in ``scim_users.extra`` so GET returns exactly what was
sent (Note: Entra ID re-sends a PATCH every cycle for an attribute that does not read back).

| SCIM                                   | employees                    |
|----------------------------------------|------------------------------|
| userName                               | email                        |
| name.givenName / name.familyName       | first_name / last_name ('' = absent) |
| displayName                            | display_name                 |
| title                                  | designation                  |
| phoneNumbers[type eq "work"].value     | phone                        |
| phoneNumbers[type eq "mobile"].value   | mobile                       |
| enterprise department / employeeNumber | department / employee_code   |
| active                                 | status 'active' / 'disabled' |
| externalId                             | scim_users.external_id       |
| meta.created / meta.lastModified       | created_at / updated_at      |
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any

import orjson

from adapters.datetimes import parse_datetime
from adapters.errors import AlreadyExists
from adapters.json_copy import copy_json
from adapters.vizmo_sqlite.text_values import as_text, kept
from adapters.schema import CORE_USER_URN, ENTERPRISE_USER_URN
from adapters.sql_dialect import TIME_TEXT

#: Phone types mirrored into legacy columns (matched case-insensitively).
PHONE_COLUMNS: dict[str, str] = {"work": "phone", "mobile": "mobile"}

#: Attributes the mapping handles itself; everything else goes to ``extra`` as sent.
_HANDLED = {"schemas", "id", "meta", "externalId", "userName", "displayName", "title", "active",
            "name", "phoneNumbers", ENTERPRISE_USER_URN}


@dataclass(frozen=True)
class StoredUser:
    """What a SCIM User becomes in storage: legacy column values, the externalId and the extras."""

    columns: dict[str, Any]
    external_id: str | None
    extra: dict[str, Any]
    #: False when the resource had no ``active``: ``columns["status"]`` then only guesses, and
    #: a write keeps the stored status instead (:func:`kept_status`).
    status_given: bool = True


def over(stored: StoredUser, current: Mapping[str, Any]) -> StoredUser:
    """``stored`` as written over the row ``current``: a column SCIM leaves without a value keeps
    the portal's ``''`` (SCIM reads ``''`` and NULL alike as absent), so a PATCH of ``title``
    does not turn the portal's empty phone into NULL behind its back (nor in the activity log);
    and without ``active`` the row keeps its status (:func:`kept_status`)."""
    columns = {column: kept("" if value is None and current[column] == "" else value, current[column])
               for column, value in stored.columns.items()}
    if not stored.status_given:
        columns["status"] = kept_status(current["status"])
    return replace(stored, columns=columns)


_now_cache: tuple[int, str] = (0, "")


def now_iso() -> str:
    """The timestamp form the Vizmo directory stores (ISO 8601, UTC, seconds), formatted once
    per second (every write stamps ``updated_at``)."""
    global _now_cache
    second = int(time.time())
    if _now_cache[0] != second:
        _now_cache = (second, datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return _now_cache[1]


def _in_own_form(stamp: Any) -> bool:
    """Whether ``stamp`` is in the form :func:`now_iso` writes, ``YYYY-MM-DDTHH:MM:SSZ``."""
    return isinstance(stamp, str) and len(stamp) == 20 and stamp[10] == "T" and stamp[19] == "Z"


#: Each thread's in-memory SQLite connection, for :func:`read_stamp`.
_stamp_reader = threading.local()
#: :data:`TIME_TEXT` of one bound value.
_READ_STAMP = "SELECT " + TIME_TEXT.format("?")


def read_stamp(stored: Any) -> Any:
    """A stamp the SQLite directory stores as ``meta`` shows it: by SQLite's own reader, the one
    its filters and sorts compare (:data:`adapters.sql_dialect.TIME_TEXT`), so a client finds a
    user by the time it was shown; text that is no time as stored. The directory's own form is
    itself, read here without SQLite (it runs twice for every user shown; the statement, in an
    in-memory database, only for a portal stamp in another form)."""
    if type(stored) is not str or (len(stored) == 20 and stored[10] == "T" and stored[19] == "Z"):
        return stored
    conn = getattr(_stamp_reader, "conn", None)
    if conn is None:
        conn = _stamp_reader.conn = sqlite3.connect(":memory:")
    shown = conn.execute(_READ_STAMP, (stored,) * _READ_STAMP.count("?")).fetchone()[0]
    return stored if shown is None else shown


def stamp_after(previous: Any) -> str:
    """The ``updated_at`` of a write to a row stamped ``previous`` (as ``meta`` shows it): now, or
    ``previous`` when the clock reads earlier (stepped back by NTP, a VM resumed: ``lastModified``
    went back in time, before ``created`` even, and a ``lastModified ge`` filter lost the user: a
    time review)."""
    now = now_iso()
    return previous if _in_own_form(previous) and previous > now and parse_datetime(previous) is not None else now


def _text(value: Any) -> str | None:
    """A column value from a SCIM string: empty strings are stored as absent (NULL)."""
    if value is None:
        return None
    text = str(value)
    return text if text != "" else None


def _phone_type(entry: Any) -> str | None:
    if isinstance(entry, Mapping) and isinstance(entry.get("type"), str):
        return entry["type"].lower()
    return None


def to_storage(resource: Mapping[str, Any], *, current_status: str | None = None) -> StoredUser:
    """Split a canonical SCIM User into legacy columns, externalId and extras.

    ``active`` absent (a PUT without it, a PATCH that removes it) is unassigned in SCIM (RFC
    7643 §2.5), kept as ``"active": null`` in the extras, while the portal's ``status`` keeps
    ``current_status`` (a new employee is active): the legacy column cannot be empty, and
    nothing changes for the portal unless a client says so. Note: Entra ID always sends ``active``.
    """
    name = dict(resource.get("name") or {})
    enterprise = dict(resource.get(ENTERPRISE_USER_URN) or {})
    phones = list(resource.get("phoneNumbers") or [])
    active = resource.get("active")
    if active is None:
        status = kept_status(current_status)
    else:
        status = "active" if active else "disabled"
    columns: dict[str, Any] = {
        "email": resource["userName"],
        "first_name": _text(name.pop("givenName", None)) or "",
        "last_name": _text(name.pop("familyName", None)) or "",
        "display_name": _text(resource.get("displayName")),
        "designation": _text(resource.get("title")),
        "department": _text(enterprise.pop("department", None)),
        "employee_code": _text(enterprise.pop("employeeNumber", None)),
        "status": status,
        "phone": None,
        "mobile": None,
    }
    for phone_type, column in PHONE_COLUMNS.items():
        entry = next((p for p in phones if _phone_type(p) == phone_type), None)
        if entry is not None:
            columns[column] = _text(entry.get("value"))
    extra: dict[str, Any] = {k: copy_json(v) for k, v in resource.items() if k not in _HANDLED}
    if name:
        extra["name"] = name
    if enterprise:
        extra[ENTERPRISE_USER_URN] = enterprise
    if phones:
        extra["phoneNumbers"] = copy_json(phones)
    if active is None:
        extra["active"] = None
    return StoredUser(columns=columns, external_id=_text(resource.get("externalId")), extra=extra,
                      status_given=active is not None)


def kept_status(current_status: str | None) -> str:
    """The status of a write without ``active``: the stored one, or ``active`` for a new (or
    removed, being revived) employee."""
    return current_status if current_status in ("active", "disabled") else "active"


def _effective_phones(extra_phones: list[Any], row: Mapping[str, Any]) -> list[Any]:
    """The phone list as stored, with the first work/mobile entry's value taken from its legacy
    column (the portal may have edited it; dropped when the column is empty); a second one of
    the type is the portal's no business and is kept as stored."""
    result: list[Any] = []
    seen: set[str] = set()
    for entry in extra_phones:
        phone_type = _phone_type(entry)
        if phone_type in PHONE_COLUMNS and phone_type not in seen:
            seen.add(phone_type)
            value = row[PHONE_COLUMNS[phone_type]]
            if not value:  # NULL, or the portal's '' (absent, as everywhere: see over())
                continue
            entry = {**entry, "value": value}
        result.append(entry)
    for phone_type, column in PHONE_COLUMNS.items():
        if phone_type not in seen and row[column]:
            result.append({"type": phone_type, "value": row[column]})
    return result


#: Row fields that make up ``meta.version``: every value SCIM shows, plus scim_users' write counter.
VERSION_FIELDS = ("id", "email", "first_name", "last_name", "display_name", "phone", "mobile", "department",
                  "designation", "employee_code", "status", "created_at", "updated_at", "scim_id",
                  "external_id", "extra", "version")


_version_fields = itemgetter(*VERSION_FIELDS)


def version_tag(row: Mapping[str, Any]) -> str:
    """A weak ETag (RFC 7644 §3.14) over the row's content and scim_users' write counter, so it
    changes with every change a SCIM write or a portal edit makes, even within the same second
    (a write that changes nothing SCIM shows, within the same second, keeps it: weak validators
    compare content, RFC 9110 §8.8.1)."""
    # repr of a tuple of str/int/None is unambiguous (and escapes lone surrogates) at less than
    # half the cost of json.dumps; it runs up to three times per PATCH (the read, the If-Match
    # check in the transaction, the answer).
    return _version_of_text(as_text(row))  # a BLOB counts as the text it reads as


def _version_of_text(row: Mapping[str, Any]) -> str:
    """:func:`version_tag` of a row :func:`~.text_values.as_text` already made text."""
    material = repr(_version_fields(row))
    return f'W/"{hashlib.blake2s(material.encode(), digest_size=8).hexdigest()}"'


def user_name_taken(email: str, holder_status: str | None = None) -> AlreadyExists:
    """The conflict of a userName another employee's row holds. A removed employee's row keeps
    its email (visits reference it; UNIQUE (location_id, email)): a create of that userName
    reuses the row (under a new SCIM id), a rename onto it cannot, and a look-up finds no
    user, so the detail says what holds it (Entra ID retries a 409 every cycle)."""
    if holder_status == "removed":
        return AlreadyExists(f"userName {email!r} is held by an employee removed from this location (the directory "
                             "keeps a removed employee's email for its visits): a new user (POST) with it takes "
                             "that record over, a rename of another user onto it cannot")
    return AlreadyExists(f"userName {email!r} is already taken in this location")


def scim_id_of(row: Mapping[str, Any]) -> str:
    """The SCIM id: the stored one, or the employee id for an employee the portal created."""
    return row["scim_id"] if row["scim_id"] is not None else str(row["id"])


#: A SCIM id: ``"<employee id>"``, or ``"<employee id>.<incarnation>"`` after a re-create.
_SCIM_ID = re.compile(r"([0-9]{1,18})(?:\.[0-9]+)?")


def split_id(scim_id: str) -> int | None:
    """The employee id inside a SCIM id (``"123"`` or ``"123.2"``), or None if it is no SCIM id
    (``"12.x"``, ``"12."``: the one parser, for reads, writes and ``id eq`` alike)."""
    match = _SCIM_ID.fullmatch(scim_id)
    return int(match.group(1)) if match else None


def _loads(text: str) -> Any:
    """The stored extras, parsed by orjson (1.6 against 4.5 µs for a typical user's, timeit);
    JSON orjson refuses (an integer beyond 64 bits a client stored) is parsed by the stdlib."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def extra_json(extra: Mapping[str, Any]) -> str:
    """The stored (compact) JSON text of the attributes the legacy columns cannot hold."""
    return json.dumps(extra, separators=(",", ":"))


def from_storage(row: Mapping[str, Any], times: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Build the canonical SCIM User from a joined employees + scim_users row.

    ``row`` has the employees columns plus ``scim_id``, ``external_id``, ``extra`` (JSON text
    or None) and ``version`` (None for an employee SCIM never wrote); ``times`` reads a stored
    stamp (:func:`read_stamp`, the SQLite directory's reader, by default).
    """
    times = times or read_stamp
    row = as_text(row)
    extra: dict[str, Any] = _loads(row["extra"]) if row["extra"] else {}
    scim_id = scim_id_of(row)
    resource: dict[str, Any] = {"schemas": [CORE_USER_URN], "id": scim_id}
    if row["external_id"] is not None:
        resource["externalId"] = row["external_id"]
    resource["userName"] = row["email"]
    name = dict(extra.pop("name", None) or {})
    if row["first_name"]:
        name["givenName"] = row["first_name"]
    if row["last_name"]:
        name["familyName"] = row["last_name"]
    if name:
        resource["name"] = name
    # The portal's '' is absent, as NULL is (a PATCH review: shown as "", a remove answered 200 with it
    # still there, a new version and an activity entry each time).
    if row["display_name"]:
        resource["displayName"] = row["display_name"]
    if row["designation"]:
        resource["title"] = row["designation"]
    if "active" in extra:  # unassigned by the last SCIM write (see to_storage)
        del extra["active"]
    else:
        resource["active"] = row["status"] == "active"
    if row["scim_id"] is None:
        # Note: Entra ID may match on emails[type eq "work"].value; an employee the portal created
        # (SCIM never wrote it) shows its sign-in email as its work email until SCIM writes it.
        resource["emails"] = [{"value": row["email"], "type": "work", "primary": True}]
    phones = _effective_phones(list(extra.pop("phoneNumbers", None) or []), row)
    if phones:
        resource["phoneNumbers"] = phones
    enterprise = dict(extra.pop(ENTERPRISE_USER_URN, None) or {})
    if row["department"]:
        enterprise["department"] = row["department"]
    if row["employee_code"]:
        enterprise["employeeNumber"] = row["employee_code"]
    resource.update(extra)
    if enterprise:
        resource[ENTERPRISE_USER_URN] = enterprise
    resource["schemas"] += [key for key in resource if key.startswith("urn:") and key != CORE_USER_URN]
    resource["meta"] = {
        "resourceType": "User",
        "created": times(row["created_at"]),
        "lastModified": times(row["updated_at"]),
        "version": _version_of_text(row),  # (row is text already)
    }
    return resource
