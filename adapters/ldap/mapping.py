"""Pure mapping between an LDAP ``inetOrgPerson`` entry and a SCIM User (no I/O).

Entry layout (what the gateway writes under ``ou=<location>,<base_dn>``)::

    dn: uid=scim-<hash of the normalised userName>,ou=<location>,<base_dn>
    objectClass: inetOrgPerson (+ shadowAccount once disabled)
    uid: scim-<hash ...>               the RDN: two adds of one userName collide on the DN
    cn, sn                             required by inetOrgPerson; derived when SCIM has no value
    <mapped attributes>                see adapters.ldap.attributes
    shadowExpire: 1                    present exactly while the user is disabled (active false)
    description: vizmo-scim:{"v":..}   the JSON extras (one value, prefix marks it)

- ``id`` is the entry's ``entryUUID`` (RFC 4530): stable, server-assigned, never reused.
- ``active`` false is ``shadowExpire: 1`` (RFC 2307: the account expired on 1970-01-02), the
  standard account-expiry attribute PAM/SSSD honour. ``active`` true removes that value; another
  ``shadowExpire`` value (an expiry date set by an administrator) is kept and reads as active.
- Attributes LDAP has no place for (emails, addresses, name.middleName, the typed entries'
  ``primary``/``display``, ``userType``, ...) are kept in canonical SCIM shape in one value of the
  standard ``description`` attribute, ``vizmo-scim:`` + JSON ``{"v": <write counter>, "extra":
  {...}, "derived": {...}}``. Other ``description`` values are left alone. ``password`` is never
  stored (the directory's own ``userPassword`` policy owns passwords).
- ``cn`` (and ``sn`` when ``name.familyName`` is absent) is derived: displayName, else
  "givenName familyName", else name.formatted, else userName. The derived value is recorded in
  ``derived``; a mapped attribute still holding its derived value reads as absent, and an
  unmapped ``cn`` is refreshed only while it still holds the gateway's derived value.
- ``meta.created``/``meta.lastModified`` are ``createTimestamp``/``modifyTimestamp``; ``meta.version``
  is a hash of every value the gateway reads, and of the write counter ``v``.
- A multi-valued LDAP attribute reads as its first value; the gateway writes one value.
- A mapped value the LDAP attribute's syntax refuses (a phone number with ``#`` or ``;ext=``:
  telephoneNumber is a printable string, RFC 4517 §3.3.31) is kept in the JSON extras instead,
  so one such value never blocks the rest of a write (Entra ID sends every change of a user, its
  ``active`` too, in one PATCH). ``userName`` and ``externalId``, the look-up keys, are refused.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from adapters.errors import InvalidValue
from adapters.ldap.attributes import AttributeMap, Mapped
from adapters.ldap.directory_schema import LdapAttributeType
from adapters.schema import CORE_USER_URN

BLOB_ATTRIBUTE = "description"
BLOB_PREFIX = "vizmo-scim:"
RDN_ATTRIBUTE = "uid"
RDN_PREFIX = "scim-"
DISABLED = "1"
PENDING_RDN = "renaming_to"
OPERATIONAL = ("entryUUID", "createTimestamp", "modifyTimestamp")
#: The inetOrgPerson MUST attributes the gateway fills with a placeholder (recorded in the JSON
#: value's ``derived``) when SCIM has no value for them; a placeholder reads as absent.
DERIVED = ("cn", "sn")

#: Attributes never kept in the extras (``active`` is ``shadowExpire``; RFC 7643 §4.1.1: ``password``
#: is writeOnly and returned never; ``groups`` is readOnly).
_DROPPED = {"schemas", "id", "meta", "active", "password", "groups"}
#: Mapped attributes whose values LDAP must hold (look-ups by them are LDAP searches).
_LOOKUP_KEYS = ("userName", "externalId")


@dataclass
class Entry:
    """An LDAP entry as read: its DN and values by lower-cased attribute name."""

    dn: str
    attrs: dict[str, list[str]] = field(default_factory=dict)

    def first(self, name: str) -> str | None:
        values = self.attrs.get(name.lower())
        return values[0] if values else None

    def values(self, name: str) -> list[str]:
        return list(self.attrs.get(name.lower(), []))


def normalise_user_name(value: str) -> str:
    """The form two equal userNames share: NFKC, case-folded, runs of white space as one space
    (an approximation of the LDAP string preparation of RFC 4518 §2)."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def rdn_value(user_name: str) -> str:
    """The ``uid`` naming a gateway entry: deterministic in the normalised userName, so that two
    concurrent creates of one userName collide on the DN and exactly one wins."""
    digest = hashlib.blake2s(normalise_user_name(user_name).encode("utf-8"), digest_size=16).hexdigest()
    return RDN_PREFIX + digest


def is_gateway_rdn(value: str | None) -> bool:
    return value is not None and value.startswith(RDN_PREFIX) and len(value) == len(RDN_PREFIX) + 32


def read_blob(entry: Entry) -> dict[str, Any]:
    """The gateway's JSON value of ``description`` (the highest write counter wins), or ``{}``."""
    best: dict[str, Any] = {}
    for value in entry.values(BLOB_ATTRIBUTE):
        if value.startswith(BLOB_PREFIX):
            try:
                parsed = json.loads(value[len(BLOB_PREFIX):])
            except ValueError:  # not the gateway's after all (edited by hand): ignored
                continue
            if isinstance(parsed, dict) and isinstance(parsed.get("v", 0), int) \
                    and parsed.get("v", 0) >= best.get("v", -1):
                best = parsed
    return best


def dump_blob(blob: Mapping[str, Any]) -> str:
    """The ``description`` value holding ``blob``."""
    text = BLOB_PREFIX + json.dumps(blob, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    if "\x00" in text:
        raise InvalidValue("NUL characters cannot be stored in the directory")
    return text


def claim_blob(entry: Entry, rdn: str) -> str:
    """The entry's JSON value marked as being renamed to ``rdn`` (set before the rename, replaced
    by the write that follows it), so that a rename in progress is never taken for a stale name."""
    return dump_blob({**read_blob(entry), PENDING_RDN: rdn})


def blob_values(entry: Entry) -> list[str]:
    """The raw ``description`` values that are the gateway's."""
    return [v for v in entry.values(BLOB_ATTRIBUTE) if v.startswith(BLOB_PREFIX)]


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value != "":
        if "\x00" in value:
            raise InvalidValue("NUL characters cannot be stored in the directory")
        return value
    return None


def _get(resource: Mapping[str, Any], m: Mapped) -> Any:
    holder: Any = resource.get(m.path.urn) if m.path.urn else resource
    if not isinstance(holder, Mapping):
        return None
    value = holder.get(m.path.attr)
    if m.path.sub_attr is not None:
        return value.get(m.path.sub_attr) if isinstance(value, Mapping) else None
    return value


def _entry_type(entry: Any) -> str | None:
    return entry["type"].lower() if isinstance(entry, Mapping) and isinstance(entry.get("type"), str) else None


@dataclass(frozen=True)
class Desired:
    """What a SCIM User becomes: values of every attribute the gateway manages on this entry
    (an empty list removes the attribute), object classes to add and the new JSON value."""

    values: dict[str, list[str]]
    add_object_classes: list[str]
    blob: str
    rdn: str


def _refused(m: Mapped, value: str, types: Mapping[str, LdapAttributeType] | None) -> bool:
    """Whether the directory's syntax for ``m`` refuses ``value`` (then it is kept in the extras)."""
    known = types.get(m.ldap_key) if types is not None else None
    return known is not None and m.key not in _LOOKUP_KEYS and known.accepts(value) is False


def to_ldap(resource: Mapping[str, Any], amap: AttributeMap, current: Entry | None = None,
            types: Mapping[str, LdapAttributeType] | None = None) -> Desired:
    """Split a canonical SCIM User into LDAP values and the JSON extras (RFC 7643 §4.1).

    ``active`` absent keeps the entry's enabled state (a new user is enabled) and is unassigned
    in SCIM (RFC 7643 §2.5): ``"active": null`` in the extras until a write sets it. ``types``
    (the directory's attribute types): a mapped value their syntax refuses stays in the extras.
    """
    user_name = _text(resource.get("userName"))
    if user_name is None:
        raise InvalidValue("userName is required")
    values: dict[str, list[str]] = {}
    extra: dict[str, Any] = {k: copy.deepcopy(v) for k, v in resource.items() if k not in _DROPPED}
    for path, m in amap.simple.items():
        text = _text(_get(resource, m))
        if text is not None and _refused(m, text, types):
            values[m.ldap_key] = []
            continue  # left in the extras
        values[m.ldap_key] = [text] if text is not None else []
        holder = extra.get(path.urn) if path.urn else extra
        if isinstance(holder, dict):
            if path.sub_attr is None:
                holder.pop(path.attr, None)
            elif isinstance(holder.get(path.attr), dict):
                holder[path.attr].pop(path.sub_attr, None)
                if not holder[path.attr]:
                    holder.pop(path.attr)
            if path.urn and not holder:
                extra.pop(path.urn)
    aside: set[tuple[str, str]] = set()  # typed entries whose value stays in the extras
    for (attr, kind), m in amap.typed.items():
        raw = resource.get(attr)
        entries: list[Any] = raw if isinstance(raw, list) else []
        found = next((e for e in entries if _entry_type(e) == kind), None)
        text = _text(found.get("value")) if isinstance(found, Mapping) else None
        if text is not None and _refused(m, text, types):
            aside.add((attr, kind))
            text = None
        values[m.ldap_key] = [text] if text is not None else []
    for attr in {a for (a, _) in amap.typed}:
        if isinstance(extra.get(attr), list):
            kept: list[Any] = []
            seen: set[str | None] = set()
            for e in extra[attr]:
                entry_kind = _entry_type(e)
                if entry_kind in amap.typed_types(attr) and entry_kind not in seen:
                    # the first of a mapped type: its value is the LDAP attribute's, its other
                    # sub-attributes stay here; a second one of the type stays here whole
                    seen.add(entry_kind)
                    kept.append(e if (attr, entry_kind) in aside else {k: v for k, v in e.items() if k != "value"})
                else:
                    kept.append(e)
            extra[attr] = kept
            if not kept:
                extra.pop(attr)
    derived = _derive(resource, user_name, values, amap, current)
    active = resource.get("active")
    if active is None:
        extra["active"] = None
    shadow = current.values("shadowExpire") if current is not None else []
    disabled = shadow == [DISABLED] if active is None else not active
    if disabled:
        values["shadowexpire"] = [DISABLED]
    elif shadow == [DISABLED]:
        values["shadowexpire"] = []
    add_classes = []
    classes = {c.lower() for c in current.values("objectClass")} if current is not None else set()
    if current is None:
        add_classes = ["inetOrgPerson"] + (["shadowAccount"] if disabled else [])
    elif disabled and "shadowaccount" not in classes:
        add_classes = ["shadowAccount"]
    previous = read_blob(current) if current is not None else {}
    blob = {"v": previous.get("v", 0) + 1, "extra": extra, "derived": derived}
    return Desired(values=values, add_object_classes=add_classes, blob=dump_blob(blob), rdn=rdn_value(user_name))


def _derive(resource: Mapping[str, Any], user_name: str, values: dict[str, list[str]], amap: AttributeMap,
            current: Entry | None) -> dict[str, str]:
    """Fill ``cn``/``sn`` (inetOrgPerson MUST) where SCIM gives no value; return what was derived."""
    raw = resource.get("name")
    name: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    given, family = _text(name.get("givenName")), _text(name.get("familyName"))
    fallback = (_text(resource.get("displayName")) or " ".join(p for p in (given, family) if p)
                or _text(name.get("formatted")) or user_name)
    previous = read_blob(current).get("derived", {}) if current is not None else {}
    derived: dict[str, str] = {}
    for attr, value in (("cn", fallback), ("sn", family or fallback)):
        if values.get(attr):
            continue
        if attr not in amap.by_ldap and current is not None:
            existing = current.values(attr)
            if existing and existing != [previous.get(attr)]:
                continue  # set by someone else: not the gateway's to change
        values[attr] = [value]
        derived[attr] = value
    return derived


def _set(resource: dict[str, Any], m: Mapped, value: str) -> None:
    holder = resource.setdefault(m.path.urn, {}) if m.path.urn else resource
    if m.path.sub_attr is None:
        holder[m.path.attr] = value
    else:
        holder.setdefault(m.path.attr, {})[m.path.sub_attr] = value


def _merge(target: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            target[key] = {**value, **target[key]}
        elif key not in target:
            target[key] = copy.deepcopy(value)


#: GeneralizedTime (RFC 4517 §3.3.13): minutes and seconds optional, a fraction, ``Z`` or an offset.
_GENERALIZED = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,]\d+)?(Z|[+-]\d{2}(?:\d{2})?)")


def generalized_to_iso(value: str | None) -> str | None:
    """``20240131120000Z`` (RFC 4517 §3.3.13) → ``2024-01-31T12:00:00Z``: in UTC, to the second
    (an offset was dropped, ``...+0530`` read as UTC; a value to the minute was not read: a time
    review; OpenLDAP and Active Directory write ``Z``). A value that is no GeneralizedTime as it is."""
    match = _GENERALIZED.fullmatch(value or "")
    if match is None:
        return value
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute or 0), int(second or 0),
                          tzinfo=timezone.utc)
        if zone != "Z":
            moment -= (-1 if zone[0] == "-" else 1) * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5] or 0))
    except (ValueError, OverflowError):
        return value
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def version_tag(entry: Entry, amap: AttributeMap) -> str:
    """A weak ETag (RFC 7644 §3.14) over every value the gateway reads and the write counter."""
    names = sorted({*amap.by_ldap, "cn", "sn", "shadowexpire", "modifytimestamp", "entryuuid"})
    material = json.dumps([[n, entry.values(n)] for n in names] + [blob_values(entry)], separators=(",", ":"))
    return f'W/"{hashlib.blake2s(material.encode("utf-8"), digest_size=8).hexdigest()}"'


def from_ldap(entry: Entry, amap: AttributeMap) -> dict[str, Any]:
    """Build the canonical SCIM User from an entry read with the mapped and operational attributes."""
    blob = read_blob(entry)
    raw_extra, raw_derived = blob.get("extra"), blob.get("derived")
    extra: dict[str, Any] = raw_extra if isinstance(raw_extra, dict) else {}
    derived: dict[str, Any] = raw_derived if isinstance(raw_derived, dict) else {}
    resource: dict[str, Any] = {"schemas": [CORE_USER_URN], "id": entry.first("entryUUID")}
    for m in amap.simple.values():
        value = entry.first(m.ldap)
        if value is not None and value != "" and derived.get(m.ldap_key) != value:
            _set(resource, m, value)
    if "active" in extra:  # unassigned by the last SCIM write (see to_ldap)
        extra = {k: v for k, v in extra.items() if k != "active"}
    else:
        resource["active"] = entry.values("shadowExpire") != [DISABLED]
    for attr in sorted({a for (a, _) in amap.typed}):
        entries = _typed_entries(entry, amap, attr, list(extra.get(attr) or []))
        if entries:
            resource[attr] = entries
    _merge(resource, {k: v for k, v in extra.items() if k not in {a for (a, _) in amap.typed}})
    resource["schemas"] += sorted(k for k in resource if k.startswith("urn:") and k != CORE_USER_URN)
    resource["meta"] = {
        "resourceType": "User",
        "created": generalized_to_iso(entry.first("createTimestamp")),
        "lastModified": generalized_to_iso(entry.first("modifyTimestamp")),
        "version": version_tag(entry, amap),
    }
    return resource


def _typed_entries(entry: Entry, amap: AttributeMap, attr: str, stored: list[Any]) -> list[Any]:
    """The stored entries in order; a mapped type's first entry gets its ``value`` from LDAP
    (dropped when LDAP has none, unless the extras kept a value LDAP refused), a later one of the
    type is kept as stored; a mapped value without a stored entry is appended."""
    result: list[Any] = []
    seen: set[str] = set()
    for e in stored:
        kind = _entry_type(e)
        if kind in amap.typed_types(attr) and kind not in seen:
            seen.add(kind)
            value = entry.first(amap.typed[(attr, kind)].ldap)
            if value:
                e = {**e, "value": value}
            elif "value" not in e:
                continue
        result.append(e)
    for (name, kind), m in amap.typed.items():
        if name == attr and kind not in seen and entry.first(m.ldap):
            result.append({"type": kind, "value": entry.first(m.ldap)})
    return result
