"""python-scim's conformance checker, scim2-tester, against the real gateway (issue 12 §6).

The gateway runs as ``vizmo-scim serve`` in a subprocess (tests/serving.py), and scim2-tester's
``check_server`` talks to its Tenant URL over HTTP with the location's Secret Token, through
scim2-client's httpx2 engine. That client validates every response against the schemas of
RFC 7643 (e.g. a ``returned: never`` attribute such as ``password`` in a response is an error).
The checks: the discovery endpoints of RFC 7644 §4 (ServiceProviderConfig, ResourceTypes,
Schemas: GET, 404 for unknown ids, 405 for writes), a 404 SCIM error for an unknown URL, and for
User the RFC 7644 §3 operations: POST, GET by id and in a list, ``attributes`` /
``excludedAttributes`` on GET and on POST ``/.search``, PUT, DELETE, and PATCH add, remove and
replace of every writable attribute of the core and enterprise schemas.

Only User resources are checked (``resource_types=["User"]``): Vizmo does not provision groups,
and the gateway does not publish a Group resource type (it answers group look-ups with an empty
list and group writes with 501), so the tester has no Group checks to run.

Every result must be a conforming one. A ``SKIPPED`` result passes: no tag filter is given,
so it is the tester itself that found a check not applicable (e.g. a feature the server
declines with 501). The failure message lists each other result with its check and reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import CheckResult, Status, check_server

from tests.serving import Server, add_integration

#: The statuses scim2-tester documents as conforming (MUST, SHOULD, MAY), and its own skips.
PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.SKIPPED}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "data")
    try:
        srv.start()
        yield srv
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.stop()


def describe(result: CheckResult) -> str:
    """One line for a result, with the validation error behind a PATCH check's "Failed to ..." reason."""
    reason = result.reason or ""
    error = result.data.get("error") if isinstance(result.data, dict) else None
    if isinstance(error, Exception) and error.__cause__ is not None:
        reason += f" ({error.__cause__})"
    return f"{result.status.name} [{result.resource_type or 'server'}] {result.title}: {reason}"


def test_scim2_tester_finds_the_gateway_conformant_for_users(server: Server) -> None:
    token = add_integration(server.data_dir)["secret_token"]
    tenant_url = f"http://127.0.0.1:{server.port}/scim/v2/locations/1"
    with httpx2.Client(base_url=tenant_url, headers={"Authorization": f"Bearer {token}"}) as http:
        results = check_server(SyncSCIMClient(http), resource_types=["User"])

    assert any(r.resource_type == "User" for r in results), "\n".join(map(describe, results))
    # 0.5.2 (constraints.txt) runs 113 checks here; far fewer would mean it stopped early.
    assert sum(r.status is Status.SUCCESS for r in results) >= 100, "\n".join(map(describe, results))
    failed = [describe(r) for r in results if r.status not in PASSING]
    assert not failed, f"{len(failed)} of {len(results)} scim2-tester checks failed:\n" + "\n".join(failed)
