"""The conformance suite of the adapter contract: subclass :class:`AdapterContract` and supply ``make_adapter``.

Usage (in the integrator's test module)::

    import pytest
    from adapters.testkit import AdapterContract
    from my_package.adapter import MyAdapter

    class TestMyAdapter(AdapterContract):
        @pytest.fixture
        def make_adapter(self, tmp_path):
            return lambda: MyAdapter(dsn=f"sqlite:///{tmp_path}/{uuid4()}.db")

        @pytest.fixture
        def other_tenant(self):      # a second tenant: tenant isolation is checked on every run
            return "2"

The fixtures:

``make_adapter`` (required)
    A zero-argument callable that builds a fresh, **unstarted** :class:`~adapters.base.Adapter`
    over **empty** storage in which ``tenant`` (and ``other_tenant``) exist. Each check calls it
    once and runs ``await adapter.start()`` … ``await adapter.stop()`` inside its own event loop,
    so connections bound to an event loop work (see :mod:`adapters.testkit.session`).
``tenant`` (default ``"1"``)
    The tenant whose ``User`` adapter is checked.
``other_tenant`` (default ``None``)
    A second existing tenant, for the tenant-isolation checks that are part of every run
    (:mod:`adapters.testkit.checks_tenants`). Without it the kit takes another tenant that
    ``Adapter.tenants()`` lists; an adapter listing none must define it, or those checks fail.

When the adapter brings a state store (``state_store()`` is not None), its contract is checked
too (:mod:`adapters.testkit.checks_state`: conditional ``enable``, ``rotate``, the signing-key
claim); otherwise those checks are skipped.

Checks of a capability the User adapter does not declare (``logical``, ``sort``, ``etag``) are
skipped with the reason, and every filter operator not in ``filter_ops`` must raise
``UnsupportedFilter``: declaration and behaviour cannot drift apart. Every check is a plain
synchronous pytest test, so the kit needs neither pytest-asyncio nor pytest-tornado (and is not
disturbed by them). Set ``contract_timeout`` on the subclass to change the 30 s bound per step.
"""

from __future__ import annotations

from typing import ClassVar

import pytest

from adapters.testkit.checks_crud import CrudChecks
from adapters.testkit.checks_lookups import LookupChecks
from adapters.testkit.checks_modify import ModifyChecks
from adapters.testkit.checks_query import QueryChecks
from adapters.testkit.checks_state import StateStoreChecks
from adapters.testkit.checks_tenants import TenantChecks
from adapters.testkit.checks_writes import WriteChecks
from adapters.testkit.session import AdapterFactory, ContractRunner

__all__ = ["AdapterContract"]


class AdapterContract(CrudChecks, LookupChecks, QueryChecks, WriteChecks, ModifyChecks, TenantChecks,
                      StateStoreChecks):
    """Every check of the adapter contract; subclass it as ``Test<YourAdapter>`` (it is not
    collected itself: its name does not start with ``Test``)."""

    #: Seconds each of start, the check and stop may take before the check fails.
    contract_timeout: ClassVar[float] = 30.0

    @pytest.fixture
    def make_adapter(self) -> AdapterFactory:
        """Override: a callable building a fresh, unstarted adapter over empty storage."""
        raise NotImplementedError(
            f"{type(self).__name__} must define a 'make_adapter' fixture returning a zero-argument callable "
            "that builds a fresh, unstarted adapters.base.Adapter over empty storage")

    @pytest.fixture
    def tenant(self) -> str:
        """The tenant whose User adapter is checked (override if ``"1"`` does not exist)."""
        return "1"

    @pytest.fixture
    def other_tenant(self) -> str | None:
        """A second existing tenant for the isolation checks (``None``: one ``tenants()`` lists)."""
        return None

    @pytest.fixture
    def contract(self, make_adapter: AdapterFactory, tenant: str, other_tenant: str | None) -> ContractRunner:
        """The runner each check hands its coroutine to."""
        return ContractRunner(make_adapter, tenant, other_tenant, timeout=self.contract_timeout)
