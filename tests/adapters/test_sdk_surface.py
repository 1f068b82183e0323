"""The adapter SDK's public surface and plugin discovery."""

from __future__ import annotations

import subprocess
import sys

import pytest

import adapters
from adapters.registry import AdapterNotFound, installed_adapters, load_adapter_class
from adapters.vizmo_sqlite.adapter import VizmoSqliteAdapter

PUBLIC = {
    "Adapter", "ResourceAdapter", "Capabilities", "Resource", "StateStore", "Integration", "SigningKeyRecord", "Change", "ExpectedVersion", "Contention",
    "Tenant",
    "ListQuery", "Page", "SortSpec", "Filter", "AttrPath", "Compare", "CompareOp", "Present", "And", "Or", "Not",
    "ValuePath",
    "AdapterError", "NotFound", "AlreadyExists", "VersionMismatch", "InvalidValue", "Mutability",
    "UnsupportedFilter", "TooMany", "Unavailable",
    "SqlFilterTranslator", "ColumnSpec", "JsonArraySpec", "SqliteDialect", "SchemaInfo", "AttrInfo",
    "user_schema_info", "SqliteStateStore", "search_in_memory", "sort_resources", "matches",
    "installed_adapters", "load_adapter_class", "AdapterNotFound",
}


def test_public_surface_is_pinned() -> None:
    assert set(adapters.__all__) == PUBLIC
    assert len(adapters.__all__) == len(PUBLIC)
    for name in adapters.__all__:
        assert getattr(adapters, name) is not None


def test_importing_adapters_never_imports_tornado_or_jwt() -> None:
    code = ("import sys, adapters, adapters.vizmo_sqlite.adapter, adapters.sqlite_state; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tornado', 'jwt', 'gateway')); "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_builtin_adapters_are_registered_as_entry_points() -> None:
    assert installed_adapters()["sqlite"].value == "adapters.vizmo_sqlite.adapter:VizmoSqliteAdapter"
    assert load_adapter_class("SQLite") is VizmoSqliteAdapter  # names are case-insensitive


def test_module_colon_class_is_accepted_for_development() -> None:
    assert load_adapter_class("adapters.vizmo_sqlite.adapter:VizmoSqliteAdapter") is VizmoSqliteAdapter
    with pytest.raises(AdapterNotFound, match="is not an adapters.base.Adapter subclass"):
        load_adapter_class("adapters.query:ListQuery")
    with pytest.raises(AdapterNotFound, match="cannot load adapter"):
        load_adapter_class("no.such.module:Thing")


def test_unknown_names_list_the_installed_adapters() -> None:
    with pytest.raises(AdapterNotFound) as info:
        load_adapter_class("oracle")
    assert "installed adapters:" in str(info.value) and "sqlite" in str(info.value)
