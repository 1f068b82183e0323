"""SQL fragments with their parameters, and the SQL dialect the filter translator writes.

:class:`Sql` carries text and parameters together so that composing fragments can never put a
parameter out of order; :func:`sql` fills a template, binding every non-fragment argument as a
parameter. :class:`SqliteDialect` and :class:`PostgresDialect` spell the few constructs that
differ between databases (JSON access, ``NOT`` that treats NULL as false, case folding,
case-exact substring tests) with the same methods.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from adapters.errors import UnsupportedFilter


@dataclass(frozen=True)
class Sql:
    """An SQL fragment and its parameters, in textual order (placeholders are ``?``)."""

    text: str
    params: tuple[Any, ...] = ()


TRUE, FALSE = Sql("1"), Sql("0")


@functools.lru_cache(maxsize=256)
def _pieces(template: str) -> tuple[str, ...]:
    """A template split at its ``{}`` (templates are this package's literals: a few dozen)."""
    return tuple(template.split("{}"))


def sql(template: str, *args: Any) -> Sql:
    """Fill each ``{}`` of ``template``: an :class:`Sql` is inlined, any other value is bound.

    Templates are literal text of this package; nothing from a request is ever spliced in.
    """
    pieces = _pieces(template)
    if len(pieces) != len(args) + 1:
        raise ValueError(f"template {template!r} takes {len(pieces) - 1} arguments")
    text: list[str] = [pieces[0]]
    params: list[Any] = []
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


#: A stored date-time as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC whichever ISO 8601 form holds it (the
#: portal's ``2026-01-05 08:00:00``, ``...08:00:00.500Z``, ``...+05:30``, a lower-case ``t``),
#: NULL for text that does not start as a date and a time does (a date alone, ``now``, a Julian
#: day number, which SQLite would read too). The one reader of stored times in the SQLite
#: directory: ``meta`` shows what it gives (``vizmo_sqlite.mapping.read_stamp``), and filters and
#: sorts compare it, so a client finds a user by the time it was shown (the reference schema says only "ISO 8601,
#: UTC": other forms were shown as stored and compared as text, a time review). SQLite reads an
#: upper-case ``T`` and ``Z`` only. A stamp in the directory's own form is itself, read by one
#: GLOB (0.3 against 0.9 µs a column for strftime, on every user read).
TIME_TEXT = ("(CASE WHEN {0} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z' "
             "THEN {0} WHEN {0} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][Tt ][0-9][0-9]:[0-9][0-9]*' "
             "THEN strftime('%Y-%m-%dT%H:%M:%SZ', upper({0})) END)")

#: Attribute types stored as JSON strings and compared as text.
TEXT_KINDS = frozenset({"string", "reference", "binary", "dateTime"})


class SqliteDialect:
    """The SQLite (≥ 3.38, JSON built in) spelling of the non-portable constructs.

    Conditions are 1, 0 or NULL; NULL means "no match". JSON array elements come from
    ``json_each`` under an alias: ``<alias>.type`` is the JSON type, ``<alias>.value`` the SQL
    value (JSON text for objects and arrays, 1/0 for booleans). JSON paths are bound as
    ``$."a"."b"`` strings; ``kind`` arguments (the RFC 7643 type of the value read) are not
    needed: json_extract returns typed SQL values.
    """

    #: SQLITE_MAX_LIKE_PATTERN_LENGTH (a longer pattern is an error at run time).
    like_pattern_max_bytes = 50_000
    #: The condition that matches nothing.
    false = FALSE

    def not_true(self, cond: Sql) -> Sql:
        """Two-valued negation: true when ``cond`` is false or NULL."""
        return sql("({} IS NOT 1)", cond)

    def is_true(self, x: Sql) -> Sql:
        """True when the boolean ``x`` is true, false when it is false or NULL (a sort rank)."""
        return sql("({} IS 1)", x)

    def bool_eq(self, x: Sql, value: bool) -> Sql:
        return Sql(f"({x.text} = {int(value)})", x.params)

    def collate(self, case_exact: bool) -> str:
        """NOCASE folds ASCII letters only, exactly as a ``COLLATE NOCASE`` column's index does."""
        return " COLLATE BINARY" if case_exact else " COLLATE NOCASE"

    def compare(self, x: Sql, op: str, value: str, case_exact: bool) -> Sql:
        """``x op value`` for ``op`` in ``= > >= < <=`` on text, without outer parentheses."""
        return sql(f"{{}} {op} {{}}{self.collate(case_exact)}", x, value)

    def sort_key(self, x: Sql, case_exact: bool) -> Sql:
        """The ORDER BY key of a text value: code point order, ASCII case folded unless exact."""
        return Sql(x.text + self.collate(case_exact), x.params)

    def time_text(self, x: Sql) -> Sql:
        """A stored ``dateTime`` as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (:data:`TIME_TEXT`)."""
        return Sql(TIME_TEXT.format(x.text), x.params * TIME_TEXT.count("{0}"))

    def json_get(self, doc: Sql, names: tuple[str, ...], kind: str) -> Sql:
        """The SQL value at the member path ``names`` of the document ``doc``; NULL when missing."""
        return sql("json_extract({}, {})", doc, json_path(names))

    def json_array(self, doc: Sql, names: tuple[str, ...]) -> Sql:
        """What :meth:`elements` iterates for the array at ``names`` in ``doc``."""
        return sql("{}, {}", doc, json_path(names))

    def elements(self, each_args: Sql, alias: str) -> Sql:
        """A FROM item: one row per element of the JSON array that ``each_args`` names; its
        position is ``<alias>.key``."""
        return sql(f"json_each({{}}) AS {alias}", each_args)

    def element(self, alias: str, kind: str = "string") -> Sql:
        """The element itself (a multi-valued simple attribute)."""
        return Sql(f"{alias}.value")

    def element_get(self, alias: str, name: str, kind: str = "string") -> Sql:
        """A member of an object element; the CASE keeps json_extract off malformed elements."""
        return sql(f"CASE WHEN {alias}.type = 'object' THEN json_extract({alias}.value, {{}}) END",
                   json_path((name,)))

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


class PostgresDialect:
    """The PostgreSQL (≥ 12, jsonb) spelling of the non-portable constructs.

    Conditions are boolean (TRUE, FALSE or NULL; NULL means "no match"). The JSON document is
    ``jsonb``; paths are bound ``text[]`` parameters (``#>``/``#>>``) and member names bound
    ``text`` (``->``). JSON values are read typed: a value whose JSON type is not the attribute's
    reads as NULL, so it matches nothing (as in SQLite, where a JSON number never equals text).
    Array elements come from ``jsonb_array_elements ... WITH ORDINALITY AS <alias>(value, key)``;
    anything but an array has no elements.

    Text that is not case-exact compares as ``lower(x) = lower(?)``, the expression of the
    directory's ``UNIQUE (location_id, lower(email))`` index, so a filter and the uniqueness
    guard agree exactly and ``userName eq`` is an index lookup; ``lower`` folds case by the
    database's collation. Order comparisons and sorts use ``COLLATE "C"`` (code point order,
    like SQLite). A text column cannot hold NUL: ``eq`` a value with NUL matches nothing, an
    order comparison with one is unsupported. Placeholders are ``?``; :func:`numbered` turns a
    finished statement into asyncpg's ``$1, $2, ...``.
    """

    like_pattern_max_bytes = 50_000
    false = Sql("FALSE")

    def not_true(self, cond: Sql) -> Sql:
        return sql("({} IS NOT TRUE)", cond)

    def is_true(self, x: Sql) -> Sql:
        return sql("({} IS TRUE)", x)

    def time_text(self, x: Sql) -> Sql:
        """A stored ``dateTime`` as it is: the PostgreSQL directory's stamps are in the gateway's form
        (``directory.sql``), and a cast of text that is no time would fail the whole statement."""
        return x

    def bool_eq(self, x: Sql, value: bool) -> Sql:
        return Sql(f"({x.text} = {'TRUE' if value else 'FALSE'})", x.params)

    def compare(self, x: Sql, op: str, value: str, case_exact: bool) -> Sql:
        if "\x00" in value:
            if op == "=":
                return self.false
            raise UnsupportedFilter(f"a NUL character is not supported with {_OP_NAMES[op]}")
        collate = "" if op == "=" else ' COLLATE "C"'  # "=": no COLLATE, or the index is not used
        if case_exact:
            return sql(f"{{}} {op} {{}}::text{collate}", x, value)
        return sql(f"lower({{}}) {op} lower({{}}::text){collate}", x, value)

    def sort_key(self, x: Sql, case_exact: bool) -> Sql:
        return sql('{} COLLATE "C"', x) if case_exact else sql('lower({}) COLLATE "C"', x)

    def json_get(self, doc: Sql, names: tuple[str, ...], kind: str) -> Sql:
        return _typed(sql("({} #> {}::text[])", doc, list(names)), kind)

    def json_array(self, doc: Sql, names: tuple[str, ...]) -> Sql:
        return sql("({} #> {}::text[])", doc, list(names))

    def elements(self, each_args: Sql, alias: str) -> Sql:
        """``each_args`` is a jsonb expression, evaluated once; a non-array has no elements."""
        src = f"{alias}src"
        return Sql(f"(SELECT {each_args.text} AS a) AS {src} CROSS JOIN LATERAL jsonb_array_elements("
                   f"CASE WHEN jsonb_typeof({src}.a) = 'array' THEN {src}.a END) WITH ORDINALITY AS {alias}(value, key)",
                   each_args.params)

    def element(self, alias: str, kind: str = "string") -> Sql:
        return _typed(Sql(f"{alias}.value"), kind)

    def element_get(self, alias: str, name: str, kind: str = "string") -> Sql:
        """``->`` on a non-object is NULL, so malformed elements need no guard."""
        return _typed(sql(f"({alias}.value -> {{}}::text)", name), kind)

    def element_present(self, alias: str) -> Sql:
        inner = f"{alias}k"
        return Sql(
            f"({_jsonb_present(f'{alias}.value')} AND (jsonb_typeof({alias}.value) <> 'object' OR EXISTS ("
            f"SELECT 1 FROM jsonb_each(CASE WHEN jsonb_typeof({alias}.value) = 'object' THEN {alias}.value END)"
            f" AS {inner}(key, value) WHERE {_jsonb_present(f'{inner}.value')})))")

    def like(self, x: Sql, pattern: str) -> Sql:
        return sql("(lower({}) LIKE lower({}::text) ESCAPE '\\')", x, pattern)

    def contains_exact(self, x: Sql, value: str) -> Sql:
        return sql("(strpos({}, {}::text) > 0)", x, value)

    def prefix_exact(self, x: Sql, value: str) -> Sql:
        return sql("starts_with({}, {}::text)", x, value)

    def suffix_exact(self, x: Sql, value: str) -> Sql:
        return sql("(right({}, {}::integer) = {}::text)", x, len(value), value)


_OP_NAMES = {">": "gt", ">=": "ge", "<": "lt", "<=": "le"}


def _typed(value: Sql, kind: str) -> Sql:
    """The SQL value of the jsonb ``value`` read as an attribute of ``kind``; NULL for a value
    of another JSON type."""
    if kind in TEXT_KINDS:
        return Sql(f"CASE WHEN jsonb_typeof({value.text}) = 'string' THEN {value.text} #>> '{{}}' END",
                   value.params * 2)
    if kind == "boolean":
        return Sql(f"CASE WHEN jsonb_typeof({value.text}) = 'boolean' THEN ({value.text})::boolean END",
                   value.params * 2)
    if kind in ("integer", "decimal"):
        return Sql(f"CASE WHEN jsonb_typeof({value.text}) = 'number' THEN ({value.text})::numeric END",
                   value.params * 2)
    return value


def _jsonb_present(value: str) -> str:
    """A jsonb value that is not null, ``""``, ``[]`` or ``{}``."""
    return (f"(jsonb_typeof({value}) IN ('boolean', 'number') OR (jsonb_typeof({value}) = 'string' AND {value} <> "
            f"'\"\"'::jsonb) OR (jsonb_typeof({value}) IN ('array', 'object') AND {value} NOT IN ('[]'::jsonb, "
            f"'{{}}'::jsonb)))")


def numbered(text: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, ...``, skipping quoted literals and names."""
    out, quote, n = [], "", 0
    for char in text:
        if quote:
            if char == quote:
                quote = ""
        elif char in ("'", '"'):
            quote = char
        elif char == "?":
            n += 1
            out.append(f"${n}")
            continue
        out.append(char)
    return "".join(out)


def json_path(names: tuple[str, ...]) -> str:
    """SQLite's ``$."a"."b"``; names come from schema documents and were checked by the caller."""
    return "$" + "".join(f'."{n}"' for n in names)


def _json_present(alias: str) -> str:
    return (f"({alias}.type IN ('true', 'false', 'integer', 'real') OR ({alias}.type = 'text' AND {alias}.value <> '')"
            f" OR ({alias}.type IN ('array', 'object') AND {alias}.value NOT IN ('[]', '{{}}')))")
