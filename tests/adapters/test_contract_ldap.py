"""The adapter conformance kit run against the LDAP adapter on a real, throwaway slapd."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.ldap.adapter import LdapAdapter
from adapters.testkit import AdapterContract
from tests.ldap_server import SlapdServer, ldap_base, slapd_server  # noqa: F401  (fixtures)


class TestLdapAdapterContract(AdapterContract):
    @pytest.fixture
    def make_adapter(self, slapd_server: SlapdServer, ldap_base: str) -> Callable[[], LdapAdapter]:  # noqa: F811
        return lambda: LdapAdapter.from_options(slapd_server.options(ldap_base))

    @pytest.fixture
    def other_tenant(self) -> str:
        return "2"
