"""A SCIM write that finds the directory's write lock taken never holds the worker's event loop
(docs/architecture.md, "Nothing blocks the event loop"): while it waits for the lock, the same
worker answers other requests, and once the lock is released the write completes.

The lock is held by a separate ``sqlite3`` connection (``BEGIN IMMEDIATE``), as the portal, the
CLI or a second worker would hold it. The gateway runs on the test's loop, so a loop held by the
write would hold the GET too. Which statements the gateway's loop connection runs is read with
SQLite's statement trace: after every ``BEGIN IMMEDIATE`` that finds the lock taken, the loop
must run other callbacks before that connection tries again (a write that polled for the lock
on the loop tried dozens of times in a row first).
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from tests.support import GatewayEnv, Scim
from tests.polling import wait_until_async

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.mark.gen_test(timeout=30)
async def test_a_write_waiting_for_the_lock_leaves_the_loop_to_other_requests(
        scim: Scim, gateway_env: GatewayEnv) -> None:
    created = await scim("POST", "/Users", {"schemas": [USER], "userName": "waiter@contoso.example"})
    assert created.status == 201
    loop = asyncio.get_running_loop()
    events: list[str] = []

    def traced(statement: str) -> None:  # on the loop's thread, as the gateway's connection runs it
        if statement == "BEGIN IMMEDIATE":
            events.append("lock tried")
            loop.call_soon(events.append, "loop ran")  # runs only once the loop is given back

    connection = gateway_env.adapter._write_now
    assert connection is not None
    portal = sqlite3.connect(gateway_env.directory, isolation_level=None)
    portal.execute("BEGIN IMMEDIATE")  # the portal takes the write lock and keeps it
    connection.set_trace_callback(traced)
    patching = asyncio.ensure_future(scim("PATCH", f"/Users/{created.body['id']}", {
        "schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Waited"}]}))
    try:
        await wait_until_async(lambda: "lock tried" in events)  # the PATCH has met the lock
        got = await scim("GET", f"/Users/{created.body['id']}")
        assert got.status == 200 and "title" not in got.body  # answered meanwhile, the write not in yet
        assert not patching.done()
        tries = [(event, after) for event, after in zip(events, events[1:]) if event == "lock tried"]
        assert tries and all(after == "loop ran" for _, after in tries), events[:12]
    finally:
        portal.execute("COMMIT")  # the portal lets go: the PATCH gets the lock
        portal.close()
        patched = await asyncio.wait_for(patching, 10)
        connection.set_trace_callback(None)
    assert patched.status == 200 and patched.body["title"] == "Waited"
    again = await scim("GET", f"/Users/{created.body['id']}")
    assert again.body["title"] == "Waited" and again.headers["ETag"] == patched.headers["ETag"]
    assert gateway_env.sql("SELECT designation FROM employees WHERE email = 'waiter@contoso.example'"
                           )[0]["designation"] == "Waited"


@pytest.mark.gen_test(timeout=30)
async def test_a_token_rotation_waiting_for_the_lock_leaves_the_loop_to_other_requests(
        scim: Scim, gateway_env: GatewayEnv) -> None:
    """The state store's changes (the Integrations page's Enable, Rotate and Remove) ran on the
    event loop with a 5 s busy timeout: while the portal held the lock, every request of the
    worker waited (a durability review). They wait on a worker thread now."""
    portal = sqlite3.connect(gateway_env.directory, isolation_level=None)
    portal.execute("BEGIN IMMEDIATE")  # the portal takes the write lock and keeps it
    rotating = asyncio.ensure_future(gateway_env.state.rotate("2"))
    try:
        got = await scim("GET", "/Users", location=1)
        assert got.status == 200  # answered meanwhile
        assert not rotating.done()  # the rotation still waits for the lock
    finally:
        portal.execute("COMMIT")  # the portal lets go: the rotation gets the lock
        portal.close()
    token_id = await asyncio.wait_for(rotating, 10)
    assert await gateway_env.state.active_token_id("2") == token_id
    assert (await scim("GET", "/Users", location=2)).status == 401  # location 2's old token stopped working
