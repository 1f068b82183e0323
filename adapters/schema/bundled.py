"""The bundled schema documents (``schemas/resource/*.json``, package data read with
:mod:`importlib.resources`), loaded once into the model (RFC 7643 §4, §6, §7)."""

from __future__ import annotations

import functools
import json
from importlib.resources import files
from typing import Any

from adapters.schema.definitions import Schema
from adapters.schema.resource_type import ResourceType

CORE_USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_SCHEMA_FILES = ("User.json", "EnterpriseUser.json", "Group.json")


def _load_json(name: str) -> Any:
    return json.loads(files("schemas").joinpath("resource").joinpath(name).read_text(encoding="utf-8"))


@functools.cache
def resource_types() -> dict[str, ResourceType]:
    """The bundled resource types by name (``{"User": ..., "Group": ...}``), loaded once."""
    loaded = (Schema.from_json(_load_json(name)) for name in _SCHEMA_FILES)
    schemas = {schema.id.lower(): schema for schema in loaded}
    types = (ResourceType.from_json(doc, schemas) for doc in _load_json("ResourceTypes.json"))
    return {rtype.name: rtype for rtype in types}


def user_schema_info() -> ResourceType:
    """The User resource type: the core User schema plus the enterprise extension (RFC 7643 §4),
    the very object the gateway validates and canonicalises with."""
    return resource_types()["User"]
