"""Discovery and the operations the gateway does not offer, over real HTTP (a review of what the
ServiceProviderConfig advertises against what the gateway does)."""

from __future__ import annotations

import pytest

from tests.support import Scim

DISCOVERY = ("/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/User", "/Schemas",
             "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")


@pytest.mark.gen_test
@pytest.mark.parametrize("path", DISCOVERY)
async def test_a_filter_on_a_discovery_endpoint_is_a_403_and_its_other_parameters_are_ignored(
        scim: Scim, path: str) -> None:
    """RFC 7644 §4: "If a filter is provided, the service provider SHOULD respond with HTTP status
    code 403", so a client cannot take the whole document for a filtered one (it was a 200); the
    other list parameters SHALL be ignored there."""
    refused = await scim("GET", f"{path}?filter=id%20eq%20%22nothing%22")
    assert refused.status == 403
    assert refused.body["status"] == "403" and "filter" in refused.body["detail"]
    assert refused.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    plain = await scim("GET", path)
    ignored = await scim("GET", f"{path}?attributes=id&sortBy=id&count=0&startIndex=7")
    assert plain.status == ignored.status == 200 and ignored.body == plain.body


@pytest.mark.gen_test
@pytest.mark.parametrize("method", ["POST", "GET", "PUT"])
async def test_bulk_is_a_scim_501_after_authentication(scim: Scim, method: str) -> None:
    """``bulk.supported`` is false; ``/Bulk`` was the 404 of an unknown path (RFC 7644 §3.12: 501
    for an operation the service provider does not support)."""
    advertised = await scim("GET", "/ServiceProviderConfig")
    assert advertised.body["bulk"]["supported"] is False
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []}
    answer = await scim(method, "/Bulk", body if method != "GET" else None)
    assert answer.status == 501
    assert answer.body["status"] == "501" and "bulk.supported: false" in answer.body["detail"]
    stranger = await scim(method, "/Bulk", body if method != "GET" else None, token="not-a-token")
    assert stranger.status == 401
