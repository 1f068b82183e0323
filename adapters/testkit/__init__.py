"""The adapter conformance kit: the pytest suite every adapter must pass.

Subclass :class:`AdapterContract` as ``Test<YourAdapter>`` and define the fixtures
``make_adapter`` (a callable building a fresh, unstarted adapter over empty storage) and
``other_tenant`` (a second tenant, for the isolation checks); see
:mod:`adapters.testkit.contract`. The helpers build the canonical SCIM Users the gateway
guarantees to hand an adapter, and run coroutines in a fresh event loop.

The kit depends on pytest and the ``adapters`` SDK only (no gateway, no Tornado).
"""

from adapters.testkit.contract import AdapterContract
from adapters.testkit.resources import (CORE_USER_URN, CUSTOM_EXTENSION_URN, ENTERPRISE_USER_URN, full_user,
                                        make_user, user_view, work_email)
from adapters.testkit.session import AdapterFactory, ContractRunner, ContractSession, run_in_fresh_loop

__all__ = [
    "AdapterContract", "AdapterFactory", "CORE_USER_URN", "CUSTOM_EXTENSION_URN", "ContractRunner", "ContractSession",
    "ENTERPRISE_USER_URN", "full_user", "make_user", "run_in_fresh_loop", "user_view", "work_email",
]
