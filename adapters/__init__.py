"""The Vizmo SCIM adapter SDK: the contract, query types, typed errors and helpers.

An adapter puts the gateway in front of a directory's storage without touching ``gateway/``.
Importing this package never imports tornado or jwt (a test pins that, and ``__all__``).

    from adapters import Adapter, ResourceAdapter, Capabilities, ListQuery, Page, NotFound
"""

from adapters.base import Adapter, Capabilities, Change, Resource, ResourceAdapter, Tenant
from adapters.filter_eval import matches
from adapters.in_memory import search_in_memory, sort_resources
from adapters.errors import (AdapterError, AlreadyExists, Contention, InvalidValue, Mutability, NotFound, TooMany,
                             Unavailable, UnsupportedFilter, VersionMismatch)
from adapters.query import (And, AttrPath, Compare, CompareOp, Filter, ListQuery, Not, Or, Page, Present, SortSpec,
                            ValuePath)
from adapters.registry import AdapterNotFound, installed_adapters, load_adapter_class
from adapters.schema import Attribute as AttrInfo  # the SDK's names for the one schema model
from adapters.schema import ResourceType as SchemaInfo
from adapters.schema import user_schema_info
from adapters.sql_dialect import SqliteDialect
from adapters.sql_filter import ColumnSpec, JsonArraySpec, SqlFilterTranslator
from adapters.sqlite_state import SqliteStateStore
from adapters.state import Integration, SigningKeyRecord, StateStore
from adapters.versions import ExpectedVersion

__all__ = [
    # the contract
    "Adapter", "ResourceAdapter", "Capabilities", "Resource", "Change", "ExpectedVersion", "StateStore",
    "Integration", "SigningKeyRecord", "Tenant",
    # query types and the filter AST (RFC 7644 §3.4.2.2)
    "ListQuery", "Page", "SortSpec", "Filter", "AttrPath", "Compare", "CompareOp", "Present", "And", "Or", "Not",
    "ValuePath",
    # typed errors
    "AdapterError", "NotFound", "AlreadyExists", "VersionMismatch", "InvalidValue", "Mutability",
    "UnsupportedFilter", "TooMany", "Unavailable", "Contention",
    # helpers for adapter authors
    "SqlFilterTranslator", "ColumnSpec", "JsonArraySpec", "SqliteDialect", "SchemaInfo", "AttrInfo",
    "user_schema_info", "SqliteStateStore", "search_in_memory", "sort_resources", "matches",
    # discovery
    "installed_adapters", "load_adapter_class", "AdapterNotFound",
]
