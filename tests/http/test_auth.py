"""Tenant authentication over real HTTP: every failure is the same SCIM 401."""

from __future__ import annotations

import logging

import pytest

from tests.support import GatewayEnv, Scim

PROBE = '/Users?filter=userName+eq+%22cf4d78e8-cc4f-4d5d-b8b9-183561c0104a%22'


def assert_401(reply) -> None:
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert reply.headers["Content-Type"] == "application/scim+json"
    assert reply.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert reply.body["status"] == "401"


@pytest.mark.gen_test
async def test_valid_token_passes_the_test_connection_probe(scim: Scim) -> None:
    reply = await scim("GET", PROBE)
    assert reply.status == 200
    assert reply.body["totalResults"] == 0 and reply.body["Resources"] == []


@pytest.mark.gen_test
@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt",
                                    "Bearer eyJhbGciOiJub25lIn0.eyJsb2MiOiIxIiwianRpIjoieCJ9."])
async def test_missing_or_malformed_tokens_are_refused(scim: Scim, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    assert_401(await scim("GET", PROBE, token="", headers=headers))


@pytest.mark.gen_test
async def test_a_bare_token_is_accepted_as_okta_sends_it(scim: Scim, gateway_env: GatewayEnv) -> None:
    """Okta's "HTTP Header" authentication sends ``Authorization: <token>``, without ``Bearer``."""
    token = gateway_env.tokens[1]
    assert (await scim("GET", PROBE, token="", headers={"Authorization": f" {token} "})).status == 200
    assert_401(await scim("GET", PROBE, token="", headers={"Authorization": f"Basic {token}"}))
    assert_401(await scim("GET", PROBE, token="", headers={"Authorization": f"{token}x"}))
    assert_401(await scim("GET", PROBE, location=2, token="", headers={"Authorization": token}))


@pytest.mark.gen_test
async def test_another_locations_token_is_refused(scim: Scim, gateway_env: GatewayEnv) -> None:
    assert_401(await scim("GET", PROBE, location=1, token=gateway_env.tokens[2]))
    assert (await scim("GET", PROBE, location=2)).status == 200


@pytest.mark.gen_test
async def test_token_signed_with_another_key_is_refused(scim: Scim, gateway_env: GatewayEnv) -> None:
    from gateway.tokens import TokenCodec

    forged = TokenCodec(b"k" * 32).issue(1, await gateway_env.state.active_token_id("1") or "")
    assert_401(await scim("GET", PROBE, token=forged))


@pytest.mark.gen_test
@pytest.mark.parametrize("location", ["99", "abc", "1%2F..", "-1", "00000000000000000000001"])
async def test_unknown_locations_get_the_same_401(scim: Scim, gateway_env: GatewayEnv, location: str) -> None:
    assert_401(await scim("GET", PROBE, location=location, token=gateway_env.tokens[1]))


@pytest.mark.gen_test
async def test_location_without_integration_is_refused(scim: Scim, gateway_env: GatewayEnv) -> None:
    gateway_env.sql("INSERT INTO locations (id, company_id, name) VALUES (3, 1, 'Goa')")
    token = gateway_env.codec.issue(3, "made-up-token-id")
    assert_401(await scim("GET", PROBE, location=3, token=token))


@pytest.mark.gen_test
async def test_rotation_and_removal_apply_while_serving(scim: Scim, gateway_env: GatewayEnv) -> None:
    from adapters.sqlite_state import SqliteStateStore

    other_process_view = SqliteStateStore(gateway_env.directory)  # a separate connection, like the CLI
    await other_process_view.start()
    try:
        new_token = gateway_env.codec.issue(1, await other_process_view.rotate("1"))
        assert_401(await scim("GET", PROBE))
        assert (await scim("GET", PROBE, token=new_token)).status == 200
        await other_process_view.remove("1")
        assert_401(await scim("GET", PROBE, token=new_token))
    finally:
        await other_process_view.close()
    assert (await scim("GET", PROBE, location=2)).status == 200


@pytest.mark.gen_test
async def test_tokens_and_filters_never_reach_the_logs(scim: Scim, gateway_env: GatewayEnv,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await scim("GET", '/Users?filter=userName+eq+%22secret.person%40contoso.com%22')
    await scim("GET", PROBE, token=gateway_env.tokens[1] + "x")
    await scim("POST", "/Users", {"userName": "x"}, headers={"Authorization": "Bearer " + gateway_env.tokens[2]})
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "vizmo_scim.access" in {r.name for r in caplog.records}
    for token in gateway_env.tokens.values():
        assert token not in text and token[-20:] not in text
    assert "secret.person" not in text
