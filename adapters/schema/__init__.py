"""The SCIM schema model, one for the gateway and the adapters (RFC 7643 §2, §6, §7).

- :mod:`~adapters.schema.definitions`: :class:`Attribute` and :class:`Schema` definitions;
- :mod:`~adapters.schema.resource_type`: :class:`ResourceType`, and how paths resolve against it;
- :mod:`~adapters.schema.bundled`: the bundled documents, loaded once (:func:`resource_types`).

Every object is frozen and shared; the SDK's ``AttrInfo``/``SchemaInfo`` (``adapters.__all__``)
are :class:`Attribute` and :class:`ResourceType`.
"""

from adapters.schema.bundled import CORE_USER_URN, ENTERPRISE_USER_URN, resource_types, user_schema_info
from adapters.schema.definitions import Attribute, Schema
from adapters.schema.resource_type import ResourceType, UnknownAttribute

__all__ = [
    "Attribute", "Schema", "ResourceType", "UnknownAttribute",
    "resource_types", "user_schema_info", "CORE_USER_URN", "ENTERPRISE_USER_URN",
]
