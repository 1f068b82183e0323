"""SQL fragments with their parameters, and the SQL dialect the filter translator writes.

:class:`Sql` carries text and parameters together so that composing fragments can never put a
parameter out of order; :func:`sql` fills a template, binding every non-fragment argument as a
parameter. :class:`SqliteDialect` spells the few constructs that differ between databases (JSON
access, ``NOT`` that treats NULL as false, case-exact substring tests); a PostgreSQL dialect
implements the same methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sql:
    """An SQL fragment and its parameters, in textual order (placeholders are ``?``)."""

    text: str
    params: tuple[Any, ...] = ()


TRUE, FALSE = Sql("1"), Sql("0")


def sql(template: str, *args: Any) -> Sql:
    """Fill each ``{}`` of ``template``: an :class:`Sql` is inlined, any other value is bound.

    Templates are literal text of this package; nothing from a request is ever spliced in.
    """
    pieces = template.split("{}")
    if len(pieces) != len(args) + 1:
        raise ValueError(f"template {template!r} takes {len(pieces) - 1} arguments")
    text, params = [pieces[0]], []
    for arg, piece in zip(args, pieces[1:]):
        if isinstance(arg, Sql):
            text.append(arg.text)
            params.extend(arg.params)
        else:
            text.append("?")
            params.append(arg)
        text.append(piece)
    return Sql("".join(text), tuple(params))


def join(parts: list[Sql], separator: str) -> Sql:
    """``(a <separator> b ...)``."""
    return Sql("(" + separator.join(p.text for p in parts) + ")", tuple(x for p in parts for x in p.params))


class SqliteDialect:
    """The SQLite (≥ 3.38, JSON built in) spelling of the non-portable constructs.

    Conditions are 1, 0 or NULL; NULL means "no match". JSON array elements come from
    ``json_each`` under an alias: ``<alias>.type`` is the JSON type, ``<alias>.value`` the SQL
    value (JSON text for objects and arrays, 1/0 for booleans).
    """

    #: SQLITE_MAX_LIKE_PATTERN_LENGTH (a longer pattern is an error at run time).
    like_pattern_max_bytes = 50_000

    def not_true(self, cond: Sql) -> Sql:
        """Two-valued negation: true when ``cond`` is false or NULL."""
        return sql("({} IS NOT 1)", cond)

    def collate(self, case_exact: bool) -> str:
        """NOCASE folds ASCII letters only, exactly as a ``COLLATE NOCASE`` column's index does."""
        return " COLLATE BINARY" if case_exact else " COLLATE NOCASE"

    def json_get(self, doc: Sql, path: str) -> Sql:
        """The SQL value at JSON ``path`` (bound) of the document ``doc``; NULL when missing."""
        return sql("json_extract({}, {})", doc, path)

    def elements(self, each_args: Sql, alias: str) -> Sql:
        """A FROM item: one row per element of the JSON array that ``each_args`` names."""
        return sql(f"json_each({{}}) AS {alias}", each_args)

    def element(self, alias: str) -> Sql:
        """The element itself (a multi-valued simple attribute)."""
        return Sql(f"{alias}.value")

    def element_get(self, alias: str, path: str) -> Sql:
        """A member of an object element; the CASE keeps json_extract off malformed elements."""
        return sql(f"CASE WHEN {alias}.type = 'object' THEN json_extract({alias}.value, {{}}) END", path)

    def element_present(self, alias: str) -> Sql:
        """The element is not null/""/[]/{}, and an object element has such a member."""
        inner = f"{alias}k"
        return Sql(
            f"({_json_present(alias)} AND ({alias}.type <> 'object' OR EXISTS (SELECT 1 FROM json_each("
            f"CASE WHEN {alias}.type = 'object' THEN {alias}.value END) AS {inner} WHERE {_json_present(inner)})))")

    def like(self, x: Sql, pattern: str) -> Sql:
        """ASCII-case-insensitive match; ``pattern`` escapes ``\\``, ``%`` and ``_`` with ``\\``."""
        return sql("{} LIKE {} ESCAPE '\\'", x, pattern)

    def contains_exact(self, x: Sql, value: str) -> Sql:
        return sql("(instr({}, {}) > 0)", x, value)

    def prefix_exact(self, x: Sql, value: str) -> Sql:
        return sql("(substr({}, 1, {}) = {} COLLATE BINARY)", x, len(value), value)

    def suffix_exact(self, x: Sql, value: str) -> Sql:
        return sql("(substr({}, {}) = {} COLLATE BINARY)", x, -len(value), value)


def _json_present(alias: str) -> str:
    return (f"({alias}.type IN ('true', 'false', 'integer', 'real') OR ({alias}.type = 'text' AND {alias}.value <> '')"
            f" OR ({alias}.type IN ('array', 'object') AND {alias}.value NOT IN ('[]', '{{}}')))")
