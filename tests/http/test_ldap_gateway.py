"""The whole gateway on the LDAP adapter, over real HTTP: an Entra ID provisioning sequence
(Test Connection, match-or-create, update, disable, delete, re-create) against a real slapd."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from adapters.errors import Unavailable
from adapters.ldap.adapter import LdapAdapter
from adapters.ldap.client import ldap3
from adapters.sqlite_state import SqliteStateStore
from gateway.app import make_app
from gateway.config import GatewayConfig
from gateway.context import GatewayContext
from gateway.tokens import TokenCodec, load_or_create_key
from tests.ldap_server import SlapdServer, ldap_base, slapd_server  # noqa: F401  (fixtures)
from tests.support import Reply, Scim

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#: Note: Entra ID's Test Connection looks up a random GUID as userName (the GUID of the request
#: reported in AzureAD/SCIMReferenceCode issue 63).
PROBE_GUID = "cf4d78e8-cc4f-4d5d-b8b9-183561c0104a"


@dataclass
class LdapGateway:
    adapter: LdapAdapter
    ctx: GatewayContext
    tokens: dict[int, str]
    base_dn: str


@pytest.fixture
def ldap_gateway(tmp_path: Path, io_loop: Any, slapd_server: SlapdServer,  # noqa: F811
                 ldap_base: str) -> Iterator[LdapGateway]:  # noqa: F811
    adapter = LdapAdapter.from_options(slapd_server.options(ldap_base))
    io_loop.run_sync(adapter.start)
    state = SqliteStateStore(tmp_path / "state.db")
    io_loop.run_sync(state.start)
    codec = TokenCodec(load_or_create_key(tmp_path))
    tokens = {loc: codec.issue(loc, io_loop.run_sync(lambda loc=loc: state.enable(str(loc)))) for loc in (1, 2)}
    config = GatewayConfig(data_dir=tmp_path, adapter_name="ldap", adapter_options=slapd_server.options(ldap_base))
    ctx = GatewayContext(config=config, adapter=adapter, state=state, tokens=codec)
    yield LdapGateway(adapter, ctx, tokens, ldap_base)
    io_loop.run_sync(ctx.close)
    io_loop.run_sync(state.close)
    io_loop.run_sync(adapter.stop)


@pytest.fixture
def app(ldap_gateway: LdapGateway) -> Any:
    return make_app(ldap_gateway.ctx)


@pytest.fixture
def scim(http_client: Any, base_url: str, ldap_gateway: LdapGateway) -> Scim:
    async def call(method: str, path: str, body: Any = None, *, location: int = 1) -> Reply:
        headers = {"Content-Type": "application/scim+json; charset=utf-8",
                   "Authorization": f"Bearer {ldap_gateway.tokens[location]}"}
        payload = None if body is None else json.dumps(body).encode()
        if payload is None and method in ("POST", "PUT", "PATCH"):
            payload = b""
        response = await http_client.fetch(f"{base_url}/scim/v2/locations/{location}{path}", method=method,
                                           body=payload, headers=headers, raise_error=False,
                                           allow_nonstandard_methods=True)
        text = response.body.decode() if response.body else ""
        return Reply(response.code, json.loads(text) if text else None, response.headers)
    return call


def by_user_name(value: str) -> str:
    return "/Users?filter=" + quote(f'userName eq "{value}"')


ENTRA_USER: dict[str, Any] = {
    "schemas": [CORE, ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User@contoso.com",
    "active": True,
    "displayName": "Test User",
    "emails": [{"primary": True, "type": "work", "value": "test.user@contoso.com"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
    "phoneNumbers": [{"type": "work", "value": "+1 425 555 0100"}],
    ENTERPRISE: {"department": "Sales", "employeeNumber": "E-1"},
}


@pytest.mark.gen_test
async def test_entra_sequence_on_ldap(scim: Scim, slapd_server: SlapdServer,  # noqa: F811
                                      ldap_gateway: LdapGateway) -> None:
    probe = await scim("GET", by_user_name(PROBE_GUID))
    assert probe.status == 200 and probe.body["totalResults"] == 0 and probe.body["Resources"] == []

    created = await scim("POST", "/Users", ENTRA_USER)
    assert created.status == 201, created.body
    user_id = created.body["id"]
    assert created.headers["ETag"] == created.body["meta"]["version"]
    assert created.body["name"] == ENTRA_USER["name"] and created.body["emails"] == ENTRA_USER["emails"]

    found = await scim("GET", by_user_name("test_user@CONTOSO.com"))
    assert found.status == 200 and found.body["totalResults"] == 1
    assert found.body["Resources"][0]["id"] == user_id
    by_external = await scim("GET", "/Users?filter=" + quote(f'externalId eq "{ENTRA_USER["externalId"]}"'))
    assert by_external.body["totalResults"] == 1

    duplicate = await scim("POST", "/Users", {**ENTRA_USER, "userName": "TEST_USER@contoso.com"})
    assert duplicate.status == 409 and duplicate.body["scimType"] == "uniqueness"

    renamed = await scim("PATCH", f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updated@contoso.com"}]})
    assert renamed.status == 200, renamed.body
    assert renamed.body["name"]["familyName"] == "updatedFamilyName"

    disabled = await scim("PATCH", f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"}]})
    assert disabled.status == 200 and disabled.body["active"] is False
    fetched = await scim("GET", f"/Users/{user_id}")
    assert fetched.status == 200 and fetched.body["active"] is False
    assert fetched.body["emails"][0]["value"] == "updated@contoso.com"

    conn = slapd_server.connect()
    try:
        conn.search(f"ou=1,{ldap_gateway.base_dn}", "(objectClass=inetOrgPerson)", ldap3.LEVEL,
                    attributes=["mail", "sn", "shadowExpire", "telephoneNumber", "departmentNumber"])
        [entry] = conn.entries
        assert (entry.mail.value, entry.sn.value, entry.shadowExpire.value) == \
            ("Test_User@contoso.com", "updatedFamilyName", "1")
        assert (entry.telephoneNumber.value, entry.departmentNumber.value) == ("+1 425 555 0100", "Sales")
    finally:
        conn.unbind()

    other_location = await scim("GET", f"/Users/{user_id}", location=2)
    assert other_location.status == 404

    deleted = await scim("DELETE", f"/Users/{user_id}")
    assert deleted.status == 204
    assert (await scim("GET", f"/Users/{user_id}")).status == 404
    assert (await scim("DELETE", f"/Users/{user_id}")).status == 404

    again = await scim("POST", "/Users", ENTRA_USER)
    assert again.status == 201 and again.body["id"] != user_id


@pytest.mark.gen_test
async def test_unsupported_filters_are_400_invalid_filter(scim: Scim) -> None:
    reply = await scim("GET", "/Users?filter=" + quote('userName gt "a"'))  # mail has no ORDERING rule
    assert reply.status == 400 and reply.body["scimType"] == "invalidFilter", reply.body
    hostile = await scim("GET", by_user_name(")(uid=*"))
    assert hostile.status == 200 and hostile.body["totalResults"] == 0


@pytest.mark.gen_test
async def test_entra_matching_on_a_work_email_is_answered(scim: Scim) -> None:
    """Entra's Test Connection and matching filter on whichever attribute the admin matches on:
    the work email is kept in the JSON extras in LDAP, and the filter is decided on each user read
    (it was a 400 invalidFilter, a failed Test Connection)."""
    created = await scim("POST", "/Users", ENTRA_USER)
    assert created.status == 201, created.body
    work = next(e["value"] for e in ENTRA_USER["emails"] if e.get("type") == "work")
    for text, expected in ((f'emails[type eq "work"].value eq "{work.upper()}"', 1),
                           (f'emails[type eq "work" and value eq "{work}"]', 1),
                           (f'emails.value eq "{work}"', 1),
                           ('emails[type eq "work"].value eq "cf4d78e8-cc4f-4d5d-b8b9-183561c0104a"', 0),
                           ('nickName eq "x"', 0)):
        reply = await scim("GET", "/Users?filter=" + quote(text))
        assert reply.status == 200 and reply.body["totalResults"] == expected, (text, reply.body)


@pytest.mark.gen_test
async def test_service_provider_config_declares_what_the_ldap_adapter_supports(scim: Scim) -> None:
    reply = await scim("GET", "/ServiceProviderConfig")
    assert reply.status == 200
    assert reply.body["filter"]["supported"] is True and reply.body["sort"]["supported"] is True


@pytest.mark.gen_test
async def test_a_sort_the_directory_cannot_make_is_400_invalid_value_as_in_sql(scim: Scim) -> None:
    """A sortBy is no filter: the LDAP sorter answers one it cannot make as the SQL adapters do."""
    reply = await scim("GET", "/Users?sortBy=name")
    assert reply.status == 400 and reply.body["scimType"] == "invalidValue", reply.body
    assert "sort" in reply.body["detail"]


@pytest.mark.gen_test(timeout=60)
async def test_a_state_file_deleted_while_serving_fails_readiness_and_takes_no_change(
        scim: Scim, ldap_gateway: LdapGateway, http_client: Any, base_url: str, tmp_path: Path) -> None:
    """Beside LDAP the tokens, the activity log and the operators live in a SQLite file of the
    gateway's. Deleted while serving, it went on taking changes, all lost at the next start, while
    ``/readyz`` said ok (a durability review; its check looked up location "0", which no store
    reads). Now readiness fails with the reason and the store refuses changes until a restart."""
    ready = await http_client.fetch(f"{base_url}/readyz", raise_error=False)
    assert ready.code == 200
    for leftover in tmp_path.glob("state.db*"):
        leftover.unlink()
    ready = await http_client.fetch(f"{base_url}/readyz", raise_error=False)
    assert ready.code == 503 and json.loads(ready.body)["reason"] == "the state store is unreachable"
    state = ldap_gateway.ctx.state
    with pytest.raises(Unavailable, match="the state store .*state.db was deleted or replaced"):
        await state.rotate("1")
    log = state.activity_log()
    assert log is not None
    with pytest.raises(Unavailable, match="was deleted or replaced"):
        await log.read("1")
