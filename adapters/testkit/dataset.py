"""The filter checks' data set, attributes and reference answers (RFC 7644 §3.4.2.2).

Five Users with ASCII values chosen so that every operator on every attribute splits them:
mixed case where ``caseExact`` is false (``userName``, ``displayName``, ``name.givenName``,
``title``, ``emails.value``: RFC 7643 §4.1) to show comparisons ignore case, mixed case in
``externalId`` (``caseExact`` true, RFC 7643 §3.1) to show they do not, and one User (dave)
without the optional attributes, to check ``pr`` and ``ne`` on absent values.

The reference semantics, which the gateway's in-memory evaluator shares: an absent value
matches no comparison except ``ne``; a multi-valued attribute matches when any element does;
strings order by code point after folding ASCII case when ``caseExact`` is false (the values
contain only characters below ``A`` and letters, so folding to lower or upper case agree).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.base import Resource
from adapters.query import AttrPath, Compare, Filter, Present, ValuePath
from adapters.testkit.resources import make_user, work_email

__all__ = ["EMAIL_VALUE", "FILTER_OPS", "PIVOT", "STRING_ATTRIBUTES", "StringAttribute", "filter_people",
           "probes", "reference_match"]

#: Every filter operator of RFC 7644 §3.4.2.2, ``pr`` included.
FILTER_OPS: tuple[str, ...] = ("eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le", "pr")


def _email(value: str, kind: str, primary: bool = False) -> dict[str, Any]:
    return {"value": value, "type": kind, "primary": primary}


def filter_people() -> list[Resource]:
    """The five Users of the filter checks (fresh dicts on every call)."""
    return [
        make_user("alice@example.com", display_name="Alice Archer", given_name="Alice", family_name="Archer",
                  title="Engineer", external_id="ext-A1",
                  emails=[work_email("alice@example.com"), _email("alice.archer@home.test", "home")]),
        make_user("Bob@Example.com", display_name="Bob Baker", given_name="Bob", family_name="Baker",
                  title="Manager", external_id="ext-b2", emails=[work_email("bob@example.com")]),
        make_user("carol@example.org", display_name="Carol Carter", given_name="Carol", family_name="Carter",
                  title="Engineer", external_id="ext-C3",
                  emails=[work_email("carol@example.org"), _email("carol@home.test", "home")]),
        make_user("dave@example.org", family_name="Doe", active=False),
        make_user("erin@example.net", display_name="erin evans", given_name="erin", family_name="Evans",
                  title="support", external_id="ext-e5", emails=[work_email("erin@example.net")]),
    ]


#: The userName of the User whose values the probes are made from.
PIVOT = "Bob@Example.com"


@dataclass(frozen=True)
class StringAttribute:
    """A string attribute the kit filters on: a plain attribute path, or (``value_path``) the
    ``value`` sub-attribute of a multi-valued complex attribute addressed as ``attr[value op x]``."""

    label: str
    path: AttrPath
    case_exact: bool
    value_path: bool = False

    def filter(self, op: str, value: str | None) -> Filter:
        """The filter ``<this> op value`` (``value`` ignored for ``pr``)."""
        target = AttrPath("value") if self.value_path else self.path
        node: Filter = Present(target) if op == "pr" else Compare(target, op, value)  # type: ignore[arg-type]
        return ValuePath(self.path, node) if self.value_path else node

    def values(self, resource: Mapping[str, Any]) -> list[str]:
        """The present values of this attribute in ``resource``."""
        found = resource.get(self.path.attr)
        if self.value_path:
            items = [element.get("value") for element in found or [] if isinstance(element, Mapping)]
        elif self.path.sub_attr is not None:
            items = [found.get(self.path.sub_attr)] if isinstance(found, Mapping) else []
        else:
            items = [found]
        return [item for item in items if isinstance(item, str) and item != ""]


#: The string attributes every declared operator must work on.
STRING_ATTRIBUTES: tuple[StringAttribute, ...] = (
    StringAttribute("userName", AttrPath("userName"), case_exact=False),
    StringAttribute("displayName", AttrPath("displayName"), case_exact=False),
    StringAttribute("externalId", AttrPath("externalId"), case_exact=True),
    StringAttribute("name.givenName", AttrPath("name", "givenName"), case_exact=False),
    StringAttribute("title", AttrPath("title"), case_exact=False),
)

#: ``emails[value op x]``: checked when the adapter declares ``logical`` (value paths).
EMAIL_VALUE = StringAttribute("emails[value]", AttrPath("emails"), case_exact=False, value_path=True)


def probes(attribute: StringAttribute, op: str) -> tuple[str | None, ...]:
    """The comparison values checked for ``op``, made from the pivot User's value: one that
    matches it and, for ``eq``/``ne``/``sw``/``ew``, a near miss (a prefix for ``eq``, a middle
    part for ``sw``/``ew``); each also with its case swapped (which must match the same Users
    exactly when ``caseExact`` is false)."""
    if op == "pr":
        return (None,)
    pivot = next(p for p in filter_people() if p["userName"] == PIVOT)
    value = attribute.values(pivot)[0]
    bases = {"eq": (value, value[:-1]), "ne": (value, value[:-1]), "co": (value[1:-1],),
             "sw": (value[:3], value[1:4]), "ew": (value[-3:], value[-4:-1])}.get(op, (value,))
    return tuple(text for base in bases for text in (base, base.swapcase()))


def reference_match(attribute: StringAttribute, resource: Mapping[str, Any], op: str, probe: str | None) -> bool:
    """Whether ``<attribute> op probe`` matches ``resource`` (RFC 7644 §3.4.2.2)."""
    values = attribute.values(resource)
    if op == "pr":
        return bool(values)
    assert probe is not None
    if op == "ne" and not values and not attribute.value_path:
        return True  # an absent value is "not equal"; a value path needs an element
    fold = (lambda text: text) if attribute.case_exact else str.lower
    wanted = fold(probe)
    tests = {
        "eq": lambda v: v == wanted, "ne": lambda v: v != wanted, "co": lambda v: wanted in v,
        "sw": lambda v: v.startswith(wanted), "ew": lambda v: v.endswith(wanted),
        "gt": lambda v: v > wanted, "ge": lambda v: v >= wanted,
        "lt": lambda v: v < wanted, "le": lambda v: v <= wanted,
    }
    return any(tests[op](fold(value)) for value in values)
