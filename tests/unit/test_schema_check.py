"""The compiled JSON Schema predicate agrees with jsonschema (gateway/scim/schema_check.py).

The predicate is trusted on its own for valid bodies, so every disagreement would let an
invalid resource through or reject a valid one: each keyword is checked against jsonschema on
edge cases, and the bundled schemas on thousands of generated instances.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from gateway.scim.schema_check import UnsupportedSchema, compile_check, json_equal
from gateway.scim.validation import _request_schema

_EDGE_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 1.0, 2.0, 1.5, "", " ", "x", "True", "false", "a\u00e9", "\U0001F600",
    [], [1], [1, 1], ["x", "y"], [True], [{"primary": True}], [{"primary": True}, {"primary": True}],
    {}, {"a": 1}, {"primary": True}, {"primary": 1}, {"value": "v"}, {"op": "add"},
]

_KEYWORD_SCHEMAS: list[Any] = [
    True, False, {},
    {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"},
    {"type": "object"}, {"type": "array"}, {"type": ["string", "null"]},
    {"const": True}, {"const": 1}, {"const": 1.0}, {"const": "x"}, {"const": [1]}, {"const": {"a": 1}},
    {"enum": ["x", 1, None]}, {"enum": [True]},
    {"properties": {"a": {"type": "string"}}},
    {"properties": {"a": {"type": "integer"}}, "additionalProperties": False},
    {"additionalProperties": {"type": "boolean"}},
    {"required": ["primary"]}, {"required": ["a", "value"]},
    {"items": {"type": "integer"}}, {"items": False}, {"minItems": 1}, {"maxItems": 1},
    {"contains": {"const": 1}}, {"contains": {"const": 1}, "minContains": 2},
    {"contains": {"const": 1}, "minContains": 0}, {"contains": {"type": "object"}, "maxContains": 1},
    {"maxContains": 0}, {"minContains": 3},
    {"minLength": 1}, {"maxLength": 1}, {"pattern": "\\S"}, {"pattern": "^[Aa]dd$"},
    {"not": {"type": "string"}},
    {"not": {"contains": {"properties": {"primary": {"const": True}}, "required": ["primary"]}, "minContains": 2}},
    {"allOf": [{"type": "string"}, {"minLength": 2}]}, {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    {"oneOf": [{"type": "number"}, {"type": "integer"}]},
    {"if": {"required": ["op"]}, "then": {"required": ["value"]}},
    {"if": {"type": "string"}, "else": {"type": "array"}}, {"then": False}, {"else": False},
    {"type": "object", "title": "t", "description": "d", "errorMessage": "e", "$comment": "c"},
    {"type": "object", "required": ["primary"]}, {"type": "array", "items": {"type": "string"}},
    {"type": "string", "minLength": 1}, {"type": "array", "properties": {"a": {}}},
    {"type": ["object", "array"], "required": ["a"], "minItems": 1}, {"type": "object", "const": {"a": 1}},
]


@pytest.mark.parametrize("schema", _KEYWORD_SCHEMAS, ids=lambda s: json.dumps(s)[:60])
def test_each_keyword_agrees_with_jsonschema(schema: Any) -> None:
    check = compile_check(schema)
    oracle = Draft202012Validator(schema)
    for value in _EDGE_VALUES:
        assert check(value) == oracle.is_valid(value), f"{schema!r} on {value!r}"


@pytest.mark.parametrize("schema", [
    {"$ref": "#/$defs/x"}, {"patternProperties": {"^a": {}}}, {"format": "email"}, {"prefixItems": [{}]},
    {"properties": {"a": {"dependentRequired": {"a": ["b"]}}}}, {"type": "decimal"}, {"items": 3},
])
def test_keywords_it_does_not_implement_are_refused(schema: Any) -> None:
    with pytest.raises(UnsupportedSchema):
        compile_check(schema)


@pytest.mark.parametrize(("a", "b", "equal"), [
    (1, 1.0, True), (True, 1, False), (False, 0, False), (True, True, True), ("1", 1, False),
    ([1, True], [1.0, True], True), ([1], [1, 1], False), ({"a": [1]}, {"a": [1.0]}, True),
    ({"a": 1}, {"b": 1}, False), (None, None, True), (None, False, False), ({}, [], False),
])
def test_json_equal(a: Any, b: Any, equal: bool) -> None:
    assert json_equal(a, b) is equal


# --- the bundled schemas on generated instances -----------------------------------------------

_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_SEEDS: dict[str, list[Any]] = {
    "User": [
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", _ENTERPRISE], "userName": "a@contoso.com",
         "externalId": "x", "active": True, "displayName": "A", "title": "T",
         "name": {"givenName": "A", "familyName": "B", "formatted": "A B"},
         "emails": [{"value": "a@contoso.com", "type": "work", "primary": True}, {"value": "b@x", "type": "home"}],
         "phoneNumbers": [{"value": "1", "type": "work"}, {"value": "2", "type": "mobile"}],
         "addresses": [{"type": "work", "locality": "Delhi", "country": "IN", "primary": True}],
         "roles": [{"value": "r", "primary": False}], "groups": [{"value": "g", "$ref": "u", "display": "G"}],
         _ENTERPRISE: {"department": "D", "employeeNumber": "7", "manager": {"value": "m", "displayName": "M"}},
         "meta": {"resourceType": "User"}, "urn:custom:ext": {"k": 1}},
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "b"},
    ],
    "PatchOp": [
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "add", "path": 'emails[type eq "work"].value', "value": "x@y"},
            {"op": "Remove", "path": "manager"},
            {"op": "replace", "value": {"displayName": "D", "name.givenName": "G"}}]},
    ],
    "SearchRequest": [
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": 'userName eq "a"',
         "attributes": ["userName"], "excludedAttributes": ["emails"], "sortBy": "userName",
         "sortOrder": "descending", "startIndex": 1, "count": 10},
    ],
}
_KEYS = ["schemas", "userName", "active", "primary", "value", "op", "path", "Operations", "type", "count",
         "sortOrder", "manager", "emails", "name", "givenName", "unknownAttr", _ENTERPRISE]
_OPS = ["add", "Add", "REPLACE", "remove", "Remove ", "delete", "", "addx"]


def _nodes(value: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) pair inside ``value``."""
    if isinstance(value, dict):
        for key in list(value):
            out.append((value, key))
            _nodes(value[key], out)
    elif isinstance(value, list):
        for index in range(len(value)):
            out.append((value, index))
            _nodes(value[index], out)
    return out


def _mutate(instance: Any, rng: random.Random) -> Any:
    """``instance`` with one to three random edits: a value replaced, a key dropped or added,
    an array item duplicated, a ``primary`` or ``op`` changed."""
    instance = copy.deepcopy(instance)
    for _ in range(rng.randint(1, 3)):
        nodes = _nodes(instance, [])
        if not nodes:
            return rng.choice(_EDGE_VALUES)
        container, key = rng.choice(nodes)
        action = rng.randrange(6)
        if action == 0:
            container[key] = copy.deepcopy(rng.choice(_EDGE_VALUES))
        elif action == 1:
            del container[key]
        elif action == 2 and isinstance(container, dict):
            container[rng.choice(_KEYS)] = copy.deepcopy(rng.choice(_EDGE_VALUES))
        elif action == 3 and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
        elif action == 4 and isinstance(container[key], dict):
            container[key]["primary"] = rng.choice([True, False, "True", 1])
        elif action == 5 and isinstance(container[key], dict):
            container[key]["op"] = rng.choice(_OPS)
    return instance


@pytest.mark.parametrize("name", sorted(_SEEDS))
def test_bundled_schema_agrees_with_jsonschema_on_generated_instances(name: str) -> None:
    compiled = _request_schema(name)  # the very predicate and validator the gateway uses
    check, oracle = compiled.check, compiled.validator
    rng = random.Random(f"schema-check-{name}")
    verdicts = {True: 0, False: 0}
    for round_ in range(3000):
        instance = _mutate(rng.choice(_SEEDS[name]), rng)
        expected = oracle.is_valid(instance)
        assert check(instance) == expected, f"round {round_}: {json.dumps(instance)[:400]}"
        verdicts[expected] += 1
    # The generator must exercise both answers, or agreement would prove little.
    assert verdicts[True] > 300 and verdicts[False] > 300, verdicts
