"""Translate a SCIM filter AST and sort into parameterised SQL (RFC 7644 §3.4.2.2, §3.4.2.3).

A :class:`SqlFilterTranslator` is configured with a map from canonical attribute paths to
storage: :class:`ColumnSpec` (one SQL expression holding a single value) and
:class:`JsonArraySpec` (an SQL expression giving a JSON array); every other attribute is read
from a JSON fallback document (a partial SCIM resource in canonical shape). Attribute types and
``caseExact`` come from the schema model (:class:`~adapters.schema.ResourceType`); one comparison's
SQL is built by :mod:`adapters.sql_compare`.

Semantics, chosen to equal an in-memory evaluation of the filter on the SCIM resource:

- An attribute is absent when it is NULL, ``""``, ``[]`` or ``{}``; absent values match no
  comparison. ``ne`` is true when the attribute has no value or when any value differs;
  ``eq null`` is ``not pr``, ``ne null`` is ``pr``; ``eq ""`` matches nothing,
  ``co ""``/``sw ""``/``ew ""``/``gt ""``/``ge ""`` mean ``pr``.
- Every generated condition is TRUE, FALSE or NULL where NULL means "no match", and ``not`` is
  ``(x) IS NOT TRUE`` (SQLite: ``IS NOT 1``), so SQL three-valued logic never leaks into the result.
- ``caseExact`` false: the case folding of the storage's unique index, so a filter finds exactly
  what the uniqueness guard calls equal. SQLite (:class:`~adapters.sql_dialect.SqliteDialect`,
  the default): NOCASE collation and ``LIKE ... ESCAPE`` (both fold ASCII only), as a
  ``COLLATE NOCASE`` column's UNIQUE index does; PostgreSQL
  (:class:`~adapters.sql_dialect.PostgresDialect`): ``lower(x) = lower(?)``, as a
  ``UNIQUE (..., lower(email))`` index does. ``caseExact`` true: binary comparison.
- A multi-valued attribute matches when any element matches (a complex one compared without a
  sub-attribute means its ``value`` sub-attribute); a value path ``attr[filter]`` is an
  ``EXISTS`` over the elements.
- ``dateTime`` values for ``eq``/``ne``/``gt``/``ge``/``lt``/``le`` must be xsd:dateTime; they are
  normalised to ``YYYY-MM-DDTHH:MM:SSZ`` (UTC) and compared as text with the stored values, which
  have that form (whole seconds). ``co``/``sw``/``ew`` compare the stored text.
- Booleans take ``eq``/``ne`` only; numbers no ``co``/``sw``/``ew``; binary no ordering; a value
  of the wrong JSON type is an error, not a non-match.

Anything that cannot be translated exactly raises :class:`~adapters.errors.UnsupportedFilter`.
Values are always bound parameters; JSON paths, too, are parameters built from schema names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from adapters.errors import InvalidValue, UnsupportedFilter
from adapters.memo import remembered
from adapters.query import COMPARE_OPS, And, AttrPath, Compare, Filter, Not, Or, Present, SortSpec, ValuePath
from adapters.schema import Attribute, ResourceType
from adapters.sql_compare import STRING_TYPES, EqLookup, compare_value, present_value, sort_value
from adapters.sql_dialect import PostgresDialect, Sql, SqliteDialect, join, sql


@dataclass(frozen=True)
class ColumnSpec:
    """A single-valued attribute held in one SQL expression (NULL or ``''`` when absent).

    ``eq_lookup``, for ``eq`` only, returns a condition implied by the equality that lets the
    database use an index (e.g. the integer key of an opaque id), or ``("0", [])`` when the value
    can match no row.
    """

    sql: str
    eq_lookup: EqLookup | None = None


@dataclass(frozen=True)
class JsonArraySpec:
    """A multi-valued attribute whose effective value is an SQL expression giving a JSON array."""

    sql: str


@dataclass(frozen=True)
class _Scalar:
    expr: Sql
    info: Attribute
    eq_lookup: EqLookup | None = None


@dataclass(frozen=True)
class _Array:
    each: Sql  # what the dialect's elements() iterates
    info: Attribute  # the multi-valued attribute
    sub: Attribute | None  # the addressed sub-attribute, None for the whole element


@dataclass(frozen=True)
class _Complex:
    path: AttrPath
    info: Attribute


_Source = _Scalar | _Array | _Complex

#: Attribute paths whose storage a translator remembers (filters name a few dozen; the bound
#: keeps a client that names endless unknown-but-valid spellings from growing it).
RESOLVED_PATHS = 512


class _Build:
    """Per-call state: alias counter and a work budget."""

    def __init__(self, max_nodes: int) -> None:
        self.aliases = 0
        self.nodes = 0
        self.max_nodes = max_nodes

    def alias(self) -> str:
        self.aliases += 1
        return f"j{self.aliases}"

    def count(self) -> None:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise UnsupportedFilter("filter too complex")


class SqlFilterTranslator:
    """Filter/sort → SQL for one storage layout.

    ``columns`` maps canonical attribute paths (``str(AttrPath)``: ``"userName"``,
    ``"name.givenName"``, ``"<extension urn>:department"``; case-insensitive) to storage;
    ``json_document`` is the SQL expression of the fallback document; ``tiebreak`` the SQL
    expression that makes every sort total. Common attributes (``id``, ``externalId``, ``meta``)
    are filterable only when mapped: they are never read from the fallback document.
    """

    def __init__(self, schema: ResourceType, columns: Mapping[str, ColumnSpec | JsonArraySpec], *,
                 json_document: str, tiebreak: str, dialect: SqliteDialect | PostgresDialect | None = None,
                 max_params: int = 200, max_param_bytes: int = 32_768, max_sql_chars: int = 65_536,
                 max_depth: int = 32) -> None:
        self._schema = schema
        self._columns = {key.lower(): spec for key, spec in columns.items()}
        self._doc = Sql(json_document)
        self._tiebreak = tiebreak
        self._dialect: SqliteDialect | PostgresDialect = dialect or SqliteDialect()
        self._max_params, self._max_param_bytes = max_params, max_param_bytes
        self._max_sql_chars, self._max_depth = max_sql_chars, max_depth
        self._resolved: dict[AttrPath, _Source] = {}

    # --- public API ------------------------------------------------------------------------

    def where(self, node: Filter) -> tuple[str, list[Any]]:
        """The condition matching exactly the resources ``node`` matches (RFC 7644 §3.4.2.2)."""
        return self._checked(self._filter(_Build(self._max_params * 2), node, None, 0))

    def order_by(self, sort: SortSpec | None) -> tuple[str, list[Any]]:
        """An ORDER BY list (without the keywords) for ``sort`` (RFC 7644 §3.4.2.3).

        Resources without a value sort last when ascending and first when descending; a
        multi-valued attribute sorts by its primary (else first) value; the tiebreak comes last.
        """
        tiebreak = f"{self._tiebreak} ASC"
        if sort is None:
            return tiebreak, []
        try:
            expr, info = self._sort_key(_Build(8), sort.path)
        except UnsupportedFilter as exc:  # a sortBy is no filter: invalidValue, as README's table says
            raise InvalidValue(f"cannot sort by {sort.path}: {exc.detail}") from None
        if info.type in STRING_TYPES or info.type == "dateTime":
            expr = self._dialect.sort_key(expr, info.case_exact or info.type == "dateTime")
        direction = "DESC NULLS FIRST" if sort.descending else "ASC NULLS LAST"
        return self._checked(Sql(f"{expr.text} {direction}, {tiebreak}", expr.params))

    # --- filters ---------------------------------------------------------------------------

    def _filter(self, b: _Build, node: Filter, elem: tuple[str, Attribute] | None, depth: int) -> Sql:
        if depth > self._max_depth:
            raise UnsupportedFilter("filter too complex")
        b.count()
        if isinstance(node, (And, Or)):
            kind, operands, stack = type(node), [], [node]
            while stack:  # flatten a chain of the same operator without recursion
                item = stack.pop()
                if type(item) is kind:
                    stack.extend((item.right, item.left))  # type: ignore[union-attr]
                else:
                    operands.append(item)
            parts = [self._filter(b, item, elem, depth + 1) for item in operands]
            return join(parts, " AND " if kind is And else " OR ")
        if isinstance(node, Not):
            return self._dialect.not_true(self._filter(b, node.operand, elem, depth + 1))
        if isinstance(node, Compare):
            if node.op not in COMPARE_OPS:
                raise UnsupportedFilter(f"unknown operator {node.op!r}")
            if node.value is None:
                if node.op not in ("eq", "ne"):
                    raise UnsupportedFilter(f"{node.op} cannot compare with null")
                present = self._present(b, node.path, self._source(node.path, elem))
                return present if node.op == "ne" else self._dialect.not_true(present)
            return self._compare(b, node, self._source(node.path, elem))
        if isinstance(node, Present):
            return self._present(b, node.path, self._source(node.path, elem))
        if isinstance(node, ValuePath):
            if elem is not None:
                raise UnsupportedFilter("value filters cannot be nested")
            src = self._resolve(node.path)
            if not isinstance(src, _Array) or src.sub is not None or src.info.type != "complex":
                raise UnsupportedFilter(f"{node.path} is not a multi-valued complex attribute")
            alias = b.alias()
            return self._exists(src.each, alias, self._filter(b, node.filter, (alias, src.info), depth + 1))
        raise UnsupportedFilter(f"unsupported filter node {type(node).__name__}")

    def _source(self, path: AttrPath, elem: tuple[str, Attribute] | None) -> _Source:
        if elem is None:
            return self._resolve(path)
        alias, parent = elem
        sub = parent.sub(path.attr) if path.urn is None and path.sub_attr is None else None
        if sub is None:
            raise UnsupportedFilter(f"{path} is not a sub-attribute of {parent.name}")
        return _Scalar(self._dialect.element_get(alias, _name(sub.name), sub.type), sub)

    def _compare(self, b: _Build, node: Compare, src: _Source) -> Sql:
        if isinstance(src, _Complex):
            value = src.info.sub("value")
            if value is None:
                raise UnsupportedFilter(f"{node.path} is complex: compare one of its sub-attributes")
            src = self._resolve(replace(node.path, sub_attr=value.name))
        if isinstance(src, _Scalar):
            if node.op == "ne":  # absent, or a different value
                return self._dialect.not_true(
                    compare_value(self._dialect, src.expr, src.info, "eq", node.value, src.eq_lookup))
            return compare_value(self._dialect, src.expr, src.info, node.op, node.value, src.eq_lookup)
        sub = self._element_sub(src, node.path)
        info = sub or src.info

        def element(alias: str) -> Sql:
            d = self._dialect
            return d.element(alias, info.type) if sub is None else d.element_get(alias, _name(sub.name), sub.type)

        if node.op == "ne":  # no value at all, or some value that differs (any value matches)
            has, differs = b.alias(), b.alias()
            eq = compare_value(self._dialect, element(differs), info, "eq", node.value, None)
            return join([
                self._dialect.not_true(self._exists(src.each, has, sql("({} IS NOT NULL)", element(has)))),
                self._exists(src.each, differs, sql("({} IS NOT NULL AND {})", element(differs),
                                                   self._dialect.not_true(eq))),
            ], " OR ")
        alias = b.alias()
        return self._exists(src.each, alias, compare_value(self._dialect, element(alias), info, node.op, node.value, None))

    def _present(self, b: _Build, path: AttrPath, src: _Source) -> Sql:
        if isinstance(src, _Scalar):
            return present_value(src.expr, src.info)
        if isinstance(src, _Complex):
            return join([self._present(b, p, self._resolve(p)) for p in
                          (replace(path, sub_attr=s.name) for s in src.info.sub_attributes)], " OR ")
        alias = b.alias()
        if src.sub is None:
            return self._exists(src.each, alias, self._dialect.element_present(alias))
        x = self._dialect.element_get(alias, _name(src.sub.name), src.sub.type)
        return self._exists(src.each, alias, present_value(x, src.sub))

    def _exists(self, each: Sql, alias: str, cond: Sql) -> Sql:
        return sql("EXISTS (SELECT 1 FROM {} WHERE {})", self._dialect.elements(each, alias), cond)

    @staticmethod
    def _element_sub(src: _Array, path: AttrPath) -> Attribute | None:
        """The element part an array comparison reads: the sub-attribute, ``value``, or the element."""
        if src.sub is not None or src.info.type != "complex":
            return src.sub
        value = src.info.sub("value")
        if value is None:
            raise UnsupportedFilter(f"{path} is complex: compare one of its sub-attributes")
        return value

    # --- attribute resolution ---------------------------------------------------------------

    def _resolve(self, path: AttrPath) -> _Source:
        """Where ``path`` is stored. A pure function of the path for this translator: kept for
        up to :data:`RESOLVED_PATHS` paths (a third of a ``userName eq`` translation's 9 µs);
        a path that fails is resolved, and fails, again each time."""
        return remembered(self._resolved, path, self._resolve_now, RESOLVED_PATHS)

    def _resolve_now(self, path: AttrPath) -> _Source:
        found = self._schema.locate(path)
        if found is None:
            raise UnsupportedFilter(f"unknown attribute {path}")
        urn, info = found
        if info.never_returned:
            raise UnsupportedFilter(f"{info.name} cannot be filtered or sorted on")
        sub: Attribute | None = None
        if path.sub_attr is not None:
            sub = info.sub(path.sub_attr) if info.type == "complex" else None
            if sub is None:
                raise UnsupportedFilter(f"unknown sub-attribute {path}")
        top_key = str(AttrPath(info.name, None, urn)).lower()
        spec = self._columns.get(str(AttrPath(info.name, sub.name if sub else None, urn)).lower())
        if info.multi_valued:
            array = self._columns.get(top_key)
            if isinstance(array, JsonArraySpec):
                return _Array(Sql(array.sql), info, sub)
            if array is None and not self._schema.is_common(path):
                return _Array(self._dialect.json_array(self._doc, _names(urn, info.name)), info, sub)
            raise UnsupportedFilter(f"{path} cannot be filtered in this storage")
        if isinstance(spec, ColumnSpec):
            return _Scalar(Sql(spec.sql), sub or info, spec.eq_lookup)
        if spec is not None or self._schema.is_common(path):
            raise UnsupportedFilter(f"{path} cannot be filtered in this storage")
        if info.type == "complex" and sub is None:
            return _Complex(path, info)
        names = (info.name, sub.name) if sub else (info.name,)
        return _Scalar(self._dialect.json_get(self._doc, _names(urn, *names), (sub or info).type), sub or info)

    def _sort_key(self, b: _Build, path: AttrPath) -> tuple[Sql, Attribute]:
        src = self._resolve(path)
        if isinstance(src, _Complex):
            value = src.info.sub("value")
            if value is None:
                raise UnsupportedFilter(f"cannot sort on the complex attribute {path}")
            src = self._resolve(replace(path, sub_attr=value.name))
        if isinstance(src, _Scalar):
            return sort_value(src.expr, src.info, self._dialect), src.info
        d, alias = self._dialect, b.alias()
        sub = self._element_sub(src, path)
        kind = (sub or src.info).type
        x = d.element(alias, kind) if sub is None else d.element_get(alias, _name(sub.name), kind)
        primary = src.info.sub("primary")
        rank = sql("{} DESC, ", d.is_true(d.element_get(alias, _name(primary.name), "boolean"))) \
            if primary else Sql("")
        first = sql(f"(SELECT {{}} FROM {{}} ORDER BY {{}}{alias}.key LIMIT 1)",
                   sort_value(x, sub or src.info, d), d.elements(src.each, alias), rank)
        return first, sub or src.info

    def _checked(self, fragment: Sql) -> tuple[str, list[Any]]:
        size = sum(len(p.encode("utf-8")) for p in fragment.params if isinstance(p, str))
        if len(fragment.params) > self._max_params or size > self._max_param_bytes \
                or len(fragment.text) > self._max_sql_chars:
            raise UnsupportedFilter("filter too complex")
        return fragment.text, list(fragment.params)


def _names(*names: str | None) -> tuple[str, ...]:
    """A JSON member path (the dialect binds it as a parameter); names come from schema
    documents, never from filter text."""
    return tuple(_name(n) for n in names if n is not None)


def _name(name: str) -> str:
    if '"' in name or "\\" in name or any(ord(c) < 0x20 for c in name):
        raise UnsupportedFilter(f"attribute name {name!r} cannot be used in a JSON path")
    return name
