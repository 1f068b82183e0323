"""The conformance kit run against a variant of the memory example (``adapters/examples/memory.py``):
how the kit's own tests prove it fails a broken adapter and passes a correct one."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.examples.memory import MemoryAdapter
from adapters.testkit import AdapterContract


def contract_for(users_class: Any, plugin_capabilities: Any = "same") -> type[AdapterContract]:
    """An :class:`AdapterContract` over the memory plugin serving ``users_class`` as its User
    adapter, with tenants "1" and "2"; the plugin declares ``plugin_capabilities`` (default: the
    users'). Each User adapter sees every tenant's data (``_every_tenant``), for the variants
    that leak across tenants."""
    class Variant(MemoryAdapter):
        capabilities = users_class.capabilities if plugin_capabilities == "same" else plugin_capabilities

        def resource_adapter(self, resource_type: str, tenant: str) -> Any:
            base = super().resource_adapter(resource_type, tenant)
            users = users_class(base._tenant, base._versions)
            users._every_tenant = self._data
            return users

    class Contract(AdapterContract):
        @pytest.fixture
        def make_adapter(self) -> Any:
            return lambda: Variant(tenants=["1", "2"])

        @pytest.fixture
        def other_tenant(self) -> str:
            return "2"

    return Contract


def failed_checks(pytester: pytest.Pytester, source: str, expected: dict[str, set[str]],
                  at_least_passed: int) -> tuple[dict[str, set[str]], list[Any]]:
    """Run the kit over the variants in ``source`` in one nested pytest session: each test
    class's failed checks (every class of ``expected`` listed), and the failure reports."""
    pytester.makepyfile(test_variants=source)
    # pytest-tornado is left out: it warns on registration, and the kit does not need it
    # (the contract suites in this directory run with it loaded).
    reprec = pytester.inline_run("-p", "no:cacheprovider", "-p", "no:tornado")
    passed, _skipped, failed = reprec.listoutcomes()
    assert len(passed) >= at_least_passed, f"only {len(passed)} checks passed: the kit did not run"
    found: dict[str, set[str]] = {name: set() for name in expected}
    for report in failed:
        _, cls, test = report.nodeid.split("::", 2)
        found.setdefault(cls, set()).add(test)
    return found, failed
