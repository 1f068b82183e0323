"""The LDAP adapter against directories as operators run them (an LDAP operations review), on real
slapd servers: employees other tools file in sub-OUs, a server that refuses the gateway's page
size or paging, a server without the StartTLS the gateway was told to use, a password from a
secret store's environment variable."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.errors import AlreadyExists, Unavailable
from adapters.ldap.adapter import LdapAdapter, LdapUserAdapter
from adapters.query import ListQuery
from adapters.testkit import make_user
from tests.ldap_server import (SUFFIX, SlapdServer, ldap_base, slapd_server, respawn_slapd,  # noqa: F401
                               start_slapd, stop_slapd)

SERVICE_DN = f"cn=gateway,{SUFFIX}"
SERVICE_PASSWORD = "service-password-not-root"


@pytest.fixture
def users(slapd_server: SlapdServer, ldap_base: str, io_loop: Any) -> Iterator[LdapUserAdapter]:  # noqa: F811
    adapter = LdapAdapter.from_options(slapd_server.options(ldap_base, delete_policy="disable"))
    io_loop.run_sync(adapter.start)
    found = adapter.resource_adapter("User", "1")
    assert isinstance(found, LdapUserAdapter)
    yield found
    io_loop.run_sync(adapter.stop)


@pytest.mark.gen_test
async def test_an_employee_in_a_sub_ou_keeps_its_address_from_a_second_entry(
        users: LdapUserAdapter, slapd_server: SlapdServer, ldap_base: str) -> None:  # noqa: F811
    """Entra ID's look-up does not see an entry in a sub-OU (users are one level down), and its
    create made a second entry for the person; now the create and a rename are 409s naming the
    entry. The gateway's own tombstones (delete_policy disable) block nothing."""
    admin = slapd_server.connect()
    try:
        admin.add(f"ou=engineering,ou=1,{ldap_base}", ["organizationalUnit"], {"ou": "engineering"})
        dn = f"cn=Ana Sub,ou=engineering,ou=1,{ldap_base}"
        admin.add(dn, ["inetOrgPerson"], {"cn": "Ana Sub", "sn": "Sub", "mail": "ana.sub@contoso.com"})
    finally:
        admin.unbind()
    with pytest.raises(AlreadyExists, match="in an OU below the location's"):
        await users.create(make_user("Ana.Sub@contoso.com"))
    other = await users.create(make_user("other@contoso.com"))
    with pytest.raises(AlreadyExists, match="ou=engineering"):
        await users.replace(other["id"], make_user("ana.sub@contoso.com"))
    await users.delete(other["id"])  # a tombstone in ou=deprovisioned, below the location's OU
    again = await users.create(make_user("other@contoso.com"))
    assert again["id"] != other["id"]


def _service_account(server: SlapdServer) -> None:
    """A bind DN that is not the root DN (limits do not apply to the root), readable as the
    adapter needs (slapd's default access: read for everyone)."""
    salt = b"vizmo"
    digest = hashlib.sha1(SERVICE_PASSWORD.encode() + salt).digest()
    password = "{SSHA}" + base64.b64encode(digest + salt).decode()
    admin = server.connect()
    try:
        admin.add(SERVICE_DN, ["organizationalRole", "simpleSecurityObject"], {"cn": "gateway",
                                                                                "userPassword": password})
    finally:
        admin.unbind()


@pytest.mark.parametrize("limit", ["size.pr=100 size.prtotal=unlimited", "size.prtotal=disabled"])
def test_a_server_refusing_the_page_size_is_refused_at_start_naming_the_limit(
        tmp_path: Any, io_loop: Any, limit: str) -> None:
    """OpenLDAP's per-DN limits: pages smaller than the adapter's 500, or no paging at all, made
    every request a 500 (adminLimitExceeded) while /readyz answered 200."""
    server = start_slapd(f'limits dn.exact="{SERVICE_DN}" {limit}\n')
    try:
        base = server.new_base()
        _service_account(server)
        secret = tmp_path / "service-password"
        secret.write_text(SERVICE_PASSWORD + "\n")
        options = {**server.options(base), "bind_dn": SERVICE_DN, "bind_password_file": str(secret)}
        with pytest.raises(Unavailable, match="refused a paged search of 500 entries a page .*size.pr=unlimited"):
            io_loop.run_sync(LdapAdapter.from_options(options).start)
        root = LdapAdapter.from_options(server.options(base))  # the root DN has no limits: it starts
        io_loop.run_sync(root.start)
        io_loop.run_sync(root.stop)
    finally:
        stop_slapd(server)


@pytest.mark.gen_test
async def test_start_tls_the_server_does_not_offer_is_unavailable_not_an_internal_error(
        slapd_server: SlapdServer, ldap_base: str) -> None:  # noqa: F811
    """A failover node without TLS behind ``start_tls = true``: each request was a 500 with the
    server's "unsupported extended operation"; now the connection's refused set-up is
    ``Unavailable`` (a 503, and a clear refusal at start). No plain-text bind is sent."""
    adapter = LdapAdapter.from_options(slapd_server.options(ldap_base, start_tls=True))
    with pytest.raises(Unavailable, match="set-up"):
        await adapter.start()


@pytest.mark.gen_test
async def test_a_password_in_an_environment_variable_may_end_with_a_line_end(
        slapd_server: SlapdServer, ldap_base: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """As a file's is: a secret store's value with its newline was refused with ldap3's
    "LDAPSASLPrepError: ASCII control character present"."""
    options = {k: v for k, v in slapd_server.options(ldap_base).items() if k != "bind_password_file"}
    monkeypatch.setenv("VIZMO_TEST_LDAP_PASSWORD_NL", slapd_server.password + "\n")
    adapter = LdapAdapter.from_options({**options, "bind_password_env": "VIZMO_TEST_LDAP_PASSWORD_NL"})
    await adapter.start()
    try:
        await adapter.check_health()
    finally:
        await adapter.stop()


def test_a_restarted_server_is_used_as_soon_as_it_answers(io_loop: Any) -> None:
    """After a failed connection ldap3 marks the server's address unavailable and, for the next
    5 s, refuses to try it: a slapd restarted at once was answered 503 for about 6 s more (an LDAP
    operations review). Each new connection now tries the address afresh."""
    server = start_slapd()
    try:
        base = server.new_base()
        adapter = LdapAdapter.from_options(server.options(base))
        io_loop.run_sync(adapter.start)
        users = adapter.resource_adapter("User", "1")
        try:
            io_loop.run_sync(lambda: users.create(make_user("before@contoso.com")))
            server.process.kill()
            server.process.wait(timeout=15)
            for _ in range(2):  # the pooled connection, then a new one that finds nothing listening
                with pytest.raises(Unavailable):
                    io_loop.run_sync(lambda: users.search(ListQuery()))
            server = respawn_slapd(server)  # answers binds again
            found = io_loop.run_sync(lambda: users.search(ListQuery()))
            assert [r["userName"] for r in found.resources] == ["before@contoso.com"]
        finally:
            io_loop.run_sync(adapter.stop)
    finally:
        stop_slapd(server)
