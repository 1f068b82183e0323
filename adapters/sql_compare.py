"""One SCIM comparison as an SQL condition (RFC 7644 §3.4.2.2): a stored value of an attribute's
type against a filter value, with its ``caseExact`` (RFC 7643 §2.2), in a dialect.

The semantics are those listed in :mod:`adapters.sql_filter`: ``""`` is no value, booleans take
``eq`` only, numbers no substring operators, binary no ordering, ``dateTime`` values are
normalised to the stored ``YYYY-MM-DDTHH:MM:SSZ``, and a value of the wrong JSON type raises
:class:`~adapters.errors.UnsupportedFilter`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Union

from adapters.datetimes import parse_filter_datetime
from adapters.errors import UnsupportedFilter
from adapters.schema import Attribute
from adapters.sql_dialect import PostgresDialect, Sql, SqliteDialect, sql

__all__ = ["EqLookup", "STRING_TYPES", "compare_value", "present_value", "sort_value"]

Dialect = Union[SqliteDialect, PostgresDialect]

#: Callable giving an extra, index-friendly conjunct for ``eq`` (``"0"`` for "matches nothing").
EqLookup = Callable[[str], tuple[str, list[Any]]]


_SQL_OPS = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
STRING_TYPES = frozenset({"string", "reference", "binary"})


def compare_value(d: Dialect, x: Sql, info: Attribute, op: str, value: Any, lookup: EqLookup | None) -> Sql:
    """``x op value`` for ``op`` other than ``ne``/``pr`` and a non-null value, in dialect ``d``;
    ``lookup`` adds an index-friendly conjunct to ``eq``."""
    kind = info.type
    if kind == "boolean":
        if op != "eq":
            raise UnsupportedFilter(f"{op} is not supported on the boolean attribute {info.name}")
        if not isinstance(value, bool):
            raise UnsupportedFilter(f"{info.name} is boolean: compare it with true or false")
        return d.bool_eq(x, value)
    if kind in ("integer", "decimal"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UnsupportedFilter(f"{info.name} is a number: compare it with a number")
        if op not in _SQL_OPS:
            raise UnsupportedFilter(f"{op} is not supported on the numeric attribute {info.name}")
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise UnsupportedFilter(f"number out of range for {info.name}")
        return sql(f"({{}} {_SQL_OPS[op]} {{}})", x, value)
    if kind == "complex":
        raise UnsupportedFilter(f"{info.name} is complex: compare one of its sub-attributes")
    if not isinstance(value, str):
        raise UnsupportedFilter(f"{info.name} is a {kind}: compare it with a string")
    _check_text(value, op)
    if kind == "dateTime" and op in ("co", "sw", "ew"):  # on the text meta shows: the time read, else as stored
        return _compare_text(d, sql("COALESCE({}, {})", d.time_text(x), x), op, value, info.case_exact, None)
    if kind == "dateTime":
        text, fraction = _normalise_datetime(value, info.name)
        if fraction:  # stored values are whole seconds
            if op == "eq":
                return d.false
            op = {"gt": "gt", "ge": "gt", "lt": "le", "le": "le"}[op]
        return _compare_text(d, d.time_text(x), op, text, True, None)
    if kind == "binary" and op in ("gt", "ge", "lt", "le"):
        raise UnsupportedFilter(f"{op} is not supported on the binary attribute {info.name}")
    return _compare_text(d, x, op, value, info.case_exact, lookup)

def _compare_text(d: Dialect, x: Sql, op: str, value: str, case_exact: bool, lookup: EqLookup | None) -> Sql:
    if value == "":  # "" is absent: nothing equals it, every present value contains it
        return d.false if op in ("eq", "lt", "le") else _present_text(x)
    if op == "eq":
        cond = sql("({})", d.compare(x, "=", value, case_exact))
        if lookup is not None:
            hint, params = lookup(value)
            if hint.strip() == "0":
                return d.false
            cond = sql("({} AND {})", Sql(hint, tuple(params)), cond)
        return cond
    if op in ("gt", "ge"):
        return sql("({})", d.compare(x, _SQL_OPS[op], value, case_exact))
    if op in ("lt", "le"):
        return sql("({} AND {} <> '')", d.compare(x, _SQL_OPS[op], value, case_exact), x)
    if case_exact:
        return {"co": d.contains_exact, "sw": d.prefix_exact, "ew": d.suffix_exact}[op](x, value)
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]
    if len(pattern.encode("utf-8")) > d.like_pattern_max_bytes:
        raise UnsupportedFilter("filter value too long")
    return d.like(x, pattern)

def present_value(x: Sql, info: Attribute) -> Sql:
    """``x`` has a value: not NULL, and not ``''`` for the text kinds."""
    return _present_text(x) if info.type in STRING_TYPES or info.type == "dateTime" else sql("({} IS NOT NULL)", x)


def _present_text(x: Sql) -> Sql:
    return sql("({} IS NOT NULL AND {} <> '')", x, x)


def sort_value(x: Sql, info: Attribute, d: Dialect) -> Sql:
    """``x`` as a sort key: ``''`` sorts as no value, a ``dateTime`` in the dialect's one form."""
    if info.type == "dateTime":
        return sql("NULLIF({}, '')", d.time_text(x))
    return sql("NULLIF({}, '')", x) if info.type in STRING_TYPES else x


def _check_text(value: str, op: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsupportedFilter("filter value is not valid Unicode text") from None
    if "\x00" in value and op in ("co", "sw", "ew"):
        raise UnsupportedFilter(f"a NUL character is not supported with {op}")


def _normalise_datetime(value: str, name: str) -> tuple[str, bool]:
    """An xsd:dateTime as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (the directory's form), and whether it
    had a non-zero sub-second part."""
    parsed, fraction = parse_filter_datetime(value, name)
    return (f"{parsed.year:04d}-{parsed.month:02d}-{parsed.day:02d}"
            f"T{parsed.hour:02d}:{parsed.minute:02d}:{parsed.second:02d}Z"), fraction
