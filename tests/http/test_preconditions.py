"""``If-Match`` and ``If-None-Match`` on every method of ``/Users/{id}`` (RFC 7644 §3.14; RFC 9110
§13.1.1, §13.1.2 and the order of §13.2.2), over real HTTP on each built-in adapter's real storage.

A write whose ``If-None-Match`` names the user's current version (or is ``*``: the user exists) is
not made and is answered ``412``: it was made, a DELETE among them (an HTTP review). A GET whose
``If-Match`` names no current version is a ``412``. A GET's ``ETag`` is the user's whatever
``attributes`` leave out of the body (it was missing when ``meta.version`` was projected out).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.test_activity_log import Deployment, app, deployment, entries, scim  # noqa: F401 (fixtures)
from tests.ldap_server import ldap_base, slapd_server  # noqa: F401  (fixtures)

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
STALE = 'W/"not-the-version"'


async def _user(scim: Any, name: str) -> tuple[str, str]:
    created = await scim("POST", "/Users", {"schemas": [CORE], "userName": name, "title": "Host"})
    assert created.status == 201, created.body
    return f"/Users/{created.body['id']}", created.headers["ETag"]


def _title(value: str) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": value}]}


@pytest.mark.gen_test(timeout=60)
async def test_a_write_whose_if_none_match_names_the_current_version_is_not_made(scim: Any,
                                                                                deployment: Deployment) -> None:
    url, version = await _user(scim, "nina@contoso.com")
    bare = version.removeprefix("W/")
    put = {"schemas": [CORE], "userName": "nina@contoso.com", "title": "Chief"}
    refused = [
        await scim("PUT", url, put, headers={"If-None-Match": "*"}),
        await scim("PUT", url, put, headers={"If-None-Match": f'{STALE}, {version}'}),
        await scim("PATCH", url, _title("Chief"), headers={"If-None-Match": bare}),  # weak comparison (§8.8.3.2)
        await scim("PATCH", url, _title("Host"), headers={"If-None-Match": "*"}),  # changes nothing: still 412
        await scim("DELETE", url, headers={"If-None-Match": "*"}),
        await scim("DELETE", url, headers={"If-None-Match": version}),
        await scim("DELETE", url, headers={"If-Match": version, "If-None-Match": version}),
    ]
    for reply in refused:
        assert reply.status == 412, reply.body
        assert reply.body["status"] == "412" and "If-None-Match" in reply.body["detail"], reply.body
    kept = await scim("GET", url)
    assert kept.status == 200 and kept.body["title"] == "Host" and kept.headers["ETag"] == version
    log = await entries(deployment, 1 + len(refused))
    assert [e.status for e in log if e.status == 412] == [412] * len(refused)  # refusals, no changes

    # A tag that is not current lets each write through, and the write is made.
    patched = await scim("PATCH", url, _title("Lead"), headers={"If-None-Match": STALE})
    assert patched.status == 200 and patched.body["title"] == "Lead", patched.body
    replaced = await scim("PUT", url, put, headers={"If-None-Match": f"{STALE}, {version}"})  # version is stale now
    assert replaced.status == 200 and replaced.body["title"] == "Chief", replaced.body
    both = await scim("DELETE", url, headers={"If-Match": replaced.headers["ETag"], "If-None-Match": version})
    assert both.status == 204
    assert (await scim("GET", url)).status == 404
    assert (await scim("DELETE", url, headers={"If-None-Match": "*"})).status == 404


@pytest.mark.gen_test(timeout=60)
async def test_if_match_still_guards_a_write_that_carries_if_none_match(scim: Any, deployment: Deployment) -> None:
    url, version = await _user(scim, "omar@contoso.com")
    put = {"schemas": [CORE], "userName": "omar@contoso.com", "title": "Chief"}
    stale = await scim("PUT", url, put, headers={"If-Match": STALE, "If-None-Match": STALE})
    assert stale.status == 412, stale.body
    assert (await scim("GET", url)).body["title"] == "Host"
    made = await scim("PUT", url, put, headers={"If-Match": version, "If-None-Match": STALE})
    assert made.status == 200 and made.body["title"] == "Chief", made.body


@pytest.mark.gen_test(timeout=60)
async def test_a_get_is_412_when_if_match_names_no_current_version(scim: Any, deployment: Deployment) -> None:
    url, version = await _user(scim, "pia@contoso.com")
    for method in ("GET", "HEAD"):
        refused = await scim(method, url, headers={"If-Match": STALE})
        assert refused.status == 412, (method, refused.body)
        for condition in (version, version.removeprefix("W/"), f"{STALE}, {version}", "*"):
            served = await scim(method, url, headers={"If-Match": condition})
            assert served.status == 200 and served.headers["ETag"] == version, (method, condition)
    assert (await scim("GET", url, headers={"If-Match": version, "If-None-Match": version})).status == 304
    assert (await scim("GET", url, headers={"If-None-Match": "*"})).status == 304


@pytest.mark.gen_test(timeout=60)
async def test_a_get_carries_the_users_etag_whatever_attributes_leave_out(scim: Any, deployment: Deployment) -> None:
    url, version = await _user(scim, "quinn@contoso.com")
    for query in ("?attributes=userName", "?excludedAttributes=meta", "?attributes=meta.version"):
        for method in ("GET", "HEAD"):
            reply = await scim(method, url + query)
            assert reply.status == 200 and reply.headers.get("ETag") == version, (method, query, reply.headers)
        shown = await scim("GET", url + query)
        assert ("meta" in shown.body) == (query == "?attributes=meta.version"), shown.body
        unchanged = await scim("GET", url + query, headers={"If-None-Match": version})
        assert unchanged.status == 304 and unchanged.headers["ETag"] == version
