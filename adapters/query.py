"""Query types handed to adapters: the filter AST, attribute paths, list queries and pages.

The node names follow the ABNF of RFC 7644 §3.4.2.2 (``attrExp``, ``logExp``, ``valuePath``).
Attribute names in an AST are canonical (schema-cased, extension attributes carry their URN),
because the gateway canonicalises them before an adapter sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Union

#: Comparison operators of RFC 7644 §3.4.2.2 (``pr`` takes no value).
CompareOp = Literal["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"]
COMPARE_OPS: frozenset[str] = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"})

#: A comparison value: JSON string, number, boolean or null (RFC 7644 §3.4.2.2 ``compValue``).
CompValue = Union[str, int, float, bool, None]


@dataclass(frozen=True)
class AttrPath:
    """An attribute path: ``[urn:]attr[.subAttr]`` (RFC 7644 §3.10).

    ``urn`` is the schema URN the attribute belongs to (``None`` for the core schema of the
    resource type); ``attr`` is the top-level attribute name and ``sub_attr`` an optional
    sub-attribute name.
    """

    attr: str
    sub_attr: str | None = None
    urn: str | None = None

    def __str__(self) -> str:
        text = f"{self.urn}:{self.attr}" if self.urn else self.attr
        return f"{text}.{self.sub_attr}" if self.sub_attr else text


@dataclass(frozen=True)
class Compare:
    """``attrPath compareOp compValue`` (RFC 7644 §3.4.2.2 ``attrExp``)."""

    path: AttrPath
    op: CompareOp
    value: CompValue


@dataclass(frozen=True)
class Present:
    """``attrPath pr``: the attribute has a non-empty, non-null value (RFC 7644 §3.4.2.2)."""

    path: AttrPath


@dataclass(frozen=True)
class And:
    """``filter and filter`` (RFC 7644 §3.4.2.2 ``logExp``)."""

    left: "Filter"
    right: "Filter"


@dataclass(frozen=True)
class Or:
    """``filter or filter`` (RFC 7644 §3.4.2.2 ``logExp``)."""

    left: "Filter"
    right: "Filter"


@dataclass(frozen=True)
class Not:
    """``not ( filter )`` (RFC 7644 §3.4.2.2)."""

    operand: "Filter"


@dataclass(frozen=True)
class ValuePath:
    """``attrPath[valFilter]``: some element of a multi-valued complex attribute matches.

    ``path`` names the multi-valued attribute (no sub-attribute); the attribute paths inside
    ``filter`` are relative to one element of it (their ``attr`` is the sub-attribute name),
    as RFC 7644 §3.4.2.2 defines for ``valuePath``.
    """

    path: AttrPath
    filter: "Filter"


Filter = Union[Compare, Present, And, Or, Not, ValuePath]


@dataclass(frozen=True)
class SortSpec:
    """``sortBy`` / ``sortOrder`` (RFC 7644 §3.4.2.3)."""

    path: AttrPath
    descending: bool = False


@dataclass(frozen=True)
class ListQuery:
    """What a list or ``.search`` request asks of an adapter (RFC 7644 §3.4.2).

    ``start_index`` is 1-based; ``count`` is the page size (0 asks only for the total).
    """

    filter: Filter | None = None
    sort: SortSpec | None = None
    start_index: int = 1
    count: int = 100


@dataclass
class Page:
    """One page of results: ``total_results`` is the full match count (RFC 7644 §3.4.2.4)."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    total_results: int = 0
