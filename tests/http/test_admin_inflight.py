"""Admin requests count as in flight like SCIM requests, so a stopping worker (gateway/serving.py)
lets them finish, and every answer (page, redirect, 403, 404, error page) leaves the count."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.gen_test
async def test_every_admin_answer_leaves_nothing_in_flight(http_client: Any, base_url: str, app: Any) -> None:
    assert app.inflight == 0
    expected = {"/admin/sign-in": 200, "/admin/locations": 302, "/admin/nowhere": 404,
                "/admin/locations/1/activity.csv": 302}
    for path, status in expected.items():
        reply = await http_client.fetch(base_url + path, raise_error=False, follow_redirects=False)
        assert reply.code == status, path
        assert app.inflight == 0, path
    refused = await http_client.fetch(base_url + "/admin/sign-out", method="POST", body=b"", raise_error=False)
    assert refused.code == 403 and b"Traceback" not in refused.body
    assert app.inflight == 0
