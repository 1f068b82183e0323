"""The conformance kit against the file-backed example adapter (README's integrator walk-through),
and what its file holds after a crash-free run: exactly what was acknowledged."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from adapters.errors import NotFound, Unavailable
from adapters.examples.json_file import JsonFileAdapter
from adapters.query import ListQuery
from adapters.testkit import AdapterContract, AdapterFactory
from tests.polling import run_on_own_loop

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


class TestJsonFileAdapter(AdapterContract):
    @pytest.fixture
    def make_adapter(self, tmp_path: Path) -> AdapterFactory:
        return lambda: JsonFileAdapter(tmp_path / f"{uuid.uuid4().hex}.json", ["1", "2"], create_if_missing=True)

    @pytest.fixture
    def other_tenant(self) -> str:
        return "2"


def test_the_file_holds_what_was_written_and_is_read_back_on_start(tmp_path: Path) -> None:
    path = tmp_path / "users.json"

    async def scenario() -> tuple[dict, list[str]]:
        adapter = JsonFileAdapter(path, ["1"], create_if_missing=True)
        await adapter.start()
        users = adapter.resource_adapter("User", "1")
        kept = await users.create({"schemas": [CORE], "userName": "kept@x"})
        gone = await users.create({"schemas": [CORE], "userName": "gone@x"})
        await users.delete(gone["id"])
        await adapter.stop()
        again = JsonFileAdapter(path, ["1"])  # an existing file: create_if_missing not needed
        await again.start()
        found = await again.resource_adapter("User", "1").get(kept["id"])
        await again.stop()
        return found, sorted(p.name for p in tmp_path.iterdir())

    loop = asyncio.new_event_loop()
    try:
        found, files = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert found["userName"] == "kept@x"
    assert files == ["users.json"]  # no temporary file left behind
    stored = json.loads(path.read_text())
    assert [u["userName"] for u in stored["users"]["1"].values()] == ["kept@x"]


def test_the_adapter_lists_its_tenants_for_the_admin_page(tmp_path: Path) -> None:
    """``tenants()`` is a coroutine listing the configured tenants (an attribute of the same name
    once hid it, and the admin page's ``await adapter.tenants()`` raised TypeError)."""
    from adapters.base import Tenant

    adapter = JsonFileAdapter(tmp_path / "users.json", ["1", "7"], create_if_missing=True)
    assert run_on_own_loop(adapter.tenants()) == [Tenant("1", "Tenant 1"), Tenant("7", "Tenant 7")]


def test_a_file_that_cannot_be_written_is_unavailable_and_changes_nothing(tmp_path: Path) -> None:
    """A full disk answered 500 with a traceback (the ``OSError`` of the write went up untranslated,
    a durability review): ``Unavailable`` (a 503), and the users in memory stay as they were.
    Here the folder is gone (the tests run as root, whom permissions do not stop)."""
    folder = tmp_path / "store"
    folder.mkdir()

    async def scenario() -> None:
        adapter = JsonFileAdapter(folder / "users.json", ["1"], create_if_missing=True)
        await adapter.start()
        users = adapter.resource_adapter("User", "1")
        kept = await users.create({"schemas": [CORE], "userName": "kept@x"})
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()
        with pytest.raises(Unavailable, match="cannot write the users file"):
            await users.create({"schemas": [CORE], "userName": "lost@x"})
        with pytest.raises(Unavailable, match="cannot write the users file"):
            await users.delete(kept["id"])
        assert (await users.get(kept["id"]))["userName"] == "kept@x"
        page = await users.search(ListQuery())
        assert [user["userName"] for user in page.resources] == ["kept@x"]
        with pytest.raises(NotFound):
            await users.get("no-such-id")
        await adapter.stop()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()
