"""A JSON Schema (draft 2020-12) compiled into one Python predicate: the hot path of validation.

``jsonschema`` re-walks the schema for every instance and builds a validator object per
subschema it descends into: on a valid PATCH that was about a quarter of the request's CPU
(bench/load.py, py-spy). :func:`compile_check` turns a schema into nested closures once, so a
valid body costs a few dict lookups and ``isinstance`` calls. ``jsonschema`` stays the
authority: the bundled schemas are checked by it, and whenever the predicate says "invalid" the
caller asks ``jsonschema`` for the error to report (:mod:`gateway.scim.validation`).

Only keywords whose meaning is implemented here are accepted; any other keyword (a ``$ref``
that was not inlined, ``patternProperties``, ``format``, ...) raises :class:`UnsupportedSchema`
and the caller keeps using ``jsonschema`` alone for that schema. A differential test compares
the predicate with ``jsonschema`` on thousands of generated instances (tests/unit).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

#: Keywords that never affect validity (annotations, and this project's ``errorMessage``).
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default", "examples",
                          "deprecated", "readOnly", "writeOnly", "errorMessage", "$defs"})


class UnsupportedSchema(ValueError):
    """The schema uses a keyword this compiler does not implement."""


def _always(instance: Any) -> bool:
    return True


def _never(instance: Any) -> bool:
    return False


def _is_integer(value: Any) -> bool:
    """JSON Schema's integer: any number with a zero fractional part (not a bool)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and value.is_integer()


_TYPE_TESTS: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": _is_integer,
}


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON Schema defines it for ``const``/``enum``: booleans are not numbers,
    ``1 == 1.0``, arrays and objects compare member by member."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return a is None and b is None


def compile_check(schema: Any) -> Check:
    """The predicate "``instance`` is valid against ``schema``" (draft 2020-12 semantics).

    Raises :class:`UnsupportedSchema` when the schema uses a keyword not implemented here.
    """
    if schema is True:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, Mapping):
        raise UnsupportedSchema(f"a schema must be an object or a boolean, not {type(schema).__name__}")
    unknown = sorted(set(schema) - _KNOWN)
    if unknown:
        raise UnsupportedSchema(f"keyword {unknown[0]!r} is not supported by the compiled checker")
    # A single "type" of object, array or string is folded into that type's own check
    # (one closure call instead of two: the common shape of every bundled schema).
    declared = schema.get("type")
    folded = declared if isinstance(declared, str) and declared in _FOLDABLE else None
    checks: list[Check] = []
    for keywords, builder in _BUILDERS:
        if any(k in schema for k in keywords):
            check = builder(schema, folded)
            if check is not None:
                checks.append(check)
    return _all(checks)


def _all(checks: list[Check]) -> Check:
    """The conjunction of ``checks``, without a generator per call."""
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)

    def every(instance: Any) -> bool:
        for check in checks:
            if not check(instance):
                return False
        return True

    return every


# --- one builder per keyword (or group of keywords that belong together) ------------------------


def _type(schema: Mapping[str, Any], folded: str | None) -> Check | None:
    if folded is not None and any(k in schema for k in _FOLDABLE[folded]):
        return None  # checked by the builder of that type's keywords
    names = schema["type"]
    names = [names] if isinstance(names, str) else list(names)
    try:
        tests = [_TYPE_TESTS[name] for name in names]
    except KeyError as exc:
        raise UnsupportedSchema(f"unknown type {exc.args[0]!r}") from None
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(test(v) for test in tests)


def _const(schema: Mapping[str, Any], folded: str | None) -> Check:
    expected = schema["const"]
    return lambda v: json_equal(v, expected)


def _enum(schema: Mapping[str, Any], folded: str | None) -> Check:
    options = list(schema["enum"])
    return lambda v: any(json_equal(v, option) for option in options)


def _object(schema: Mapping[str, Any], folded: str | None) -> Check:
    """``properties``, ``additionalProperties`` and ``required``: they constrain objects only
    (any other instance passes, unless ``"type": "object"`` was folded in)."""
    properties = {name: compile_check(sub) for name, sub in schema.get("properties", {}).items()}
    additional_schema = schema.get("additionalProperties", True)
    additional = None if additional_schema is True else compile_check(additional_schema)
    required = tuple(schema.get("required", ()))
    other_types_pass = folded != "object"

    def check(instance: Any) -> bool:
        if not isinstance(instance, dict):
            return other_types_pass
        for name in required:
            if name not in instance:
                return False
        for name, value in instance.items():
            sub = properties.get(name)
            if sub is not None:
                if not sub(value):
                    return False
            elif additional is not None and not additional(value):
                return False
        return True

    return check


def _array(schema: Mapping[str, Any], folded: str | None) -> Check:
    """``items``, ``minItems``/``maxItems`` and ``contains`` with ``minContains``/``maxContains``."""
    if "prefixItems" in schema:
        raise UnsupportedSchema("keyword 'prefixItems' is not supported by the compiled checker")
    items = compile_check(schema["items"]) if "items" in schema else None
    min_items, max_items = schema.get("minItems"), schema.get("maxItems")
    contains = compile_check(schema["contains"]) if "contains" in schema else None
    min_contains = schema.get("minContains", 1) if contains is not None else None
    max_contains = schema.get("maxContains") if contains is not None else None
    other_types_pass = folded != "array"

    def check(instance: Any) -> bool:
        if not isinstance(instance, list):
            return other_types_pass
        if min_items is not None and len(instance) < min_items:
            return False
        if max_items is not None and len(instance) > max_items:
            return False
        if items is not None:
            for item in instance:
                if not items(item):
                    return False
        if contains is not None:
            found = sum(1 for item in instance if contains(item))
            if found < min_contains or (max_contains is not None and found > max_contains):
                return False
        return True

    return check


def _string(schema: Mapping[str, Any], folded: str | None) -> Check:
    """``minLength``/``maxLength`` (in code points) and ``pattern`` (unanchored ``re.search``)."""
    min_length, max_length = schema.get("minLength"), schema.get("maxLength")
    pattern = re.compile(schema["pattern"]) if "pattern" in schema else None
    other_types_pass = folded != "string"

    def check(instance: Any) -> bool:
        if not isinstance(instance, str):
            return other_types_pass
        if min_length is not None and len(instance) < min_length:
            return False
        if max_length is not None and len(instance) > max_length:
            return False
        return pattern is None or pattern.search(instance) is not None

    return check


def _not(schema: Mapping[str, Any], folded: str | None) -> Check:
    inner = compile_check(schema["not"])
    return lambda v: not inner(v)


def _all_of(schema: Mapping[str, Any], folded: str | None) -> Check:
    return _all([compile_check(sub) for sub in schema["allOf"]])


def _any_of(schema: Mapping[str, Any], folded: str | None) -> Check:
    parts = [compile_check(sub) for sub in schema["anyOf"]]
    return lambda v: any(part(v) for part in parts)


def _one_of(schema: Mapping[str, Any], folded: str | None) -> Check:
    parts = [compile_check(sub) for sub in schema["oneOf"]]
    return lambda v: sum(1 for part in parts if part(v)) == 1


def _conditional(schema: Mapping[str, Any], folded: str | None) -> Check | None:
    """``if``/``then``/``else``; ``then`` and ``else`` without ``if`` are ignored, as specified."""
    if "if" not in schema:
        return None
    condition = compile_check(schema["if"])
    then = compile_check(schema.get("then", True))
    otherwise = compile_check(schema.get("else", True))
    return lambda v: then(v) if condition(v) else otherwise(v)


_BUILDERS: tuple[tuple[tuple[str, ...], Callable[[Mapping[str, Any], str | None], Check | None]], ...] = (
    (("type",), _type),
    (("const",), _const),
    (("enum",), _enum),
    (("properties", "additionalProperties", "required"), _object),
    (("items", "minItems", "maxItems", "contains", "minContains", "maxContains"), _array),
    (("minLength", "maxLength", "pattern"), _string),
    (("not",), _not),
    (("allOf",), _all_of),
    (("anyOf",), _any_of),
    (("oneOf",), _one_of),
    (("if", "then", "else"), _conditional),
)

_KNOWN = _ANNOTATIONS.union(*(keywords for keywords, _ in _BUILDERS))

#: The types whose check folds into the builder of their own keywords, and those keywords.
_FOLDABLE: dict[str, tuple[str, ...]] = {
    "object": ("properties", "additionalProperties", "required"),
    "array": ("items", "minItems", "maxItems", "contains", "minContains", "maxContains"),
    "string": ("minLength", "maxLength", "pattern"),
}
