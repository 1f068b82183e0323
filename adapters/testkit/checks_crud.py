"""Contract checks of the plugin surface and of single-resource operations (RFC 7644 §3.3–§3.6).

Every check takes the kit's ``contract`` fixture (a :class:`~adapters.testkit.session.ContractRunner`)
and runs an inner coroutine against a fresh, started adapter.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from datetime import datetime
from typing import Any

import pytest

from adapters.base import Adapter, Capabilities, Resource, ResourceAdapter, Tenant
from adapters.errors import AlreadyExists, NotFound
from adapters.query import COMPARE_OPS
from adapters.testkit.resources import ENTERPRISE_USER_URN, full_user, make_user, user_view, work_email
from adapters.testkit.session import ContractRunner, ContractSession
from adapters.versions import is_entity_tag

__all__ = ["CrudChecks", "assert_server_fields"]


def _timestamp(meta: dict[str, Any], key: str) -> datetime:
    value = meta.get(key)
    assert isinstance(value, str), f"meta.{key} must be an xsd:dateTime string, got {value!r}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise AssertionError(f"meta.{key} {value!r} is not an xsd:dateTime (RFC 7643 §2.3.5)") from None
    assert parsed.tzinfo is not None, f"meta.{key} {value!r} must carry a time zone (Z or an offset)"
    return parsed


def assert_server_fields(resource: Resource, caps: Capabilities) -> None:
    """``id`` is a non-empty string; ``meta.created``/``lastModified`` are time-zoned
    xsd:dateTimes; ``meta.version`` is an entity tag (``W/"3"``: the ``ETag`` header, RFC 9110
    §8.8.3) when the adapter declares ``etag``; the gateway answers ``500`` to any other, after
    the write it reports was made (an integrator review: ``v1`` and a timestamp with a space passed)."""
    assert isinstance(resource.get("id"), str) and resource["id"], f"id must be a non-empty string: {resource!r}"
    meta = resource.get("meta")
    assert isinstance(meta, dict), f"the adapter must set meta (RFC 7643 §3.1): {resource!r}"
    assert _timestamp(meta, "created") <= _timestamp(meta, "lastModified"), f"lastModified before created: {meta}"
    if caps.etag:
        version = meta.get("version")
        assert is_entity_tag(version), (f'etag is declared but meta.version is {version!r}, not an entity tag such '
                                        'as W/"3" (RFC 9110 §8.8.3: quoted, no spaces or control characters)')


#: The coroutines of the contract (README, "Writing an adapter"); other methods may be anything.
_RESOURCE_COROUTINES = ("get", "search", "create", "replace", "delete", "modify")
_PLUGIN_COROUTINES = ("start", "stop", "check_health", "tenant_exists", "tenants")


class CrudChecks:
    """The plugin surface and create/get/replace/delete of one resource."""

    # -- the plugin surface ---------------------------------------------------------------
    def test_resource_adapter_methods_are_coroutines(self, contract: ContractRunner) -> None:
        """The contract's methods of the ResourceAdapter and of the Adapter are coroutine
        functions: the gateway awaits them on its event loop (helpers of your own may be plain)."""
        async def check(s: ContractSession) -> None:
            assert isinstance(s.users, ResourceAdapter)
            for obj, names in ((s.users, _RESOURCE_COROUTINES), (s.adapter, _PLUGIN_COROUTINES)):
                # on the instance: an attribute set in __init__ can hide a method (self.tenants = ...)
                blocking = [name for name in names if not inspect.iscoroutinefunction(getattr(obj, name))]
                assert not blocking, f"{type(obj).__name__}: not coroutine functions: {blocking}"
        contract.run(check)

    def test_plugin_declares_the_capabilities_of_its_users(self, contract: ContractRunner) -> None:
        """The plugin class's ``capabilities`` is what its User adapters declare, or ``None`` when
        they do not declare ``single_process``: the gateway reads it before start to refuse
        ``--processes`` above 1 (README step 1)."""
        async def check(s: ContractSession) -> None:
            plugin, users = type(s.adapter), s.caps
            fix = (f"set `capabilities: ClassVar[Capabilities] = {type(s.users).__name__}.capabilities` "
                   f"on {plugin.__name__}")
            if plugin.capabilities is None:
                assert not users.single_process, (
                    f"{plugin.__name__}.capabilities is None but its User adapter declares single_process: the "
                    f"gateway would run it on several processes; {fix}")
            else:
                differ = [f"{f.name}={getattr(plugin.capabilities, f.name)!r} (users: {getattr(users, f.name)!r})"
                          for f in dataclasses.fields(Capabilities)
                          if getattr(plugin.capabilities, f.name) != getattr(users, f.name)]
                assert not differ, (f"{plugin.__name__}.capabilities differs from what its User adapter declares: "
                                    f"{', '.join(differ)}; {fix}")
        contract.run(check)

    def test_capabilities_are_well_formed(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            caps = s.caps
            assert isinstance(caps, Capabilities)
            unknown = set(caps.filter_ops) - COMPARE_OPS - {"pr"}
            assert not unknown, f"filter_ops names unknown operators {sorted(unknown)}"
            assert caps.max_results >= 1
            assert isinstance(type(s.adapter).name, str) and type(s.adapter).name, "Adapter.name must be set"
        contract.run(check)

    def test_started_adapter_is_healthy_and_knows_its_tenant(self, contract: ContractRunner) -> None:
        """It exists (and a tenant the storage does not have does not), and an adapter that lists
        its tenants (``Adapter.tenants``, the admin page's list of locations) lists it, once, with a name."""
        async def check(s: ContractSession) -> None:
            await s.adapter.check_health()
            assert await s.adapter.tenant_exists(s.tenant) is True
            unknown = next(t for t in ("424242424242", "424242424243") if t not in (s.tenant, s.other_tenant))
            assert await s.adapter.tenant_exists(unknown) is False, (
                f"tenant_exists({unknown!r}) is not False: `vizmo-scim integration add` would issue a Tenant URL "
                "for a location that does not exist")
            if type(s.adapter).tenants is not Adapter.tenants:
                listed = await s.adapter.tenants()
                assert all(isinstance(t, Tenant) and isinstance(t.name, str) for t in listed), listed
                ids = [t.id for t in listed]
                assert ids.count(s.tenant) == 1 and len(set(ids)) == len(ids), f"tenants() listed {ids}"
                if s.other_tenant is not None:
                    assert s.other_tenant in ids, f"tenants() listed {ids}"
            with pytest.raises(NotFound):
                s.adapter.resource_adapter("NoSuchResourceType", s.tenant)
        contract.run(check)

    def test_storage_starts_empty(self, contract: ContractRunner) -> None:
        """``make_adapter`` must build an adapter over empty storage: every check starts from zero."""
        async def check(s: ContractSession) -> None:
            page = await s.search()
            assert (page.total_results, page.resources) == (0, []), "make_adapter must give empty storage"
        contract.run(check)

    # -- create and get -------------------------------------------------------------------
    def test_create_returns_the_stored_user(self, contract: ContractRunner) -> None:
        """What ``create`` returns is what was sent plus ``id``/``meta`` (RFC 7644 §3.3), and a
        ``get`` returns the same (RFC 7644 §3.4.1)."""
        async def check(s: ContractSession) -> None:
            for sent in (full_user("joy.young@example.com"), make_user("min@example.com"),
                         full_user("off@example.com", active=False)):
                created = await s.users.create(copy.deepcopy(sent))
                assert_server_fields(created, s.caps)
                assert user_view(created) == user_view(sent)
                assert await s.users.get(created["id"]) == created
        contract.run(check)

    def test_ids_are_distinct(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            created = await s.create_all(*(full_user(f"user{n}@example.com") for n in range(5)))
            assert len({user["id"] for user in created}) == 5
            for user in created:
                assert (await s.users.get(user["id"]))["userName"] == user["userName"]
        contract.run(check)

    def test_returned_resources_are_copies(self, contract: ContractRunner) -> None:
        """Neither the caller's input nor a returned dict is shared with the storage."""
        async def check(s: ContractSession) -> None:
            sent = full_user("copy@example.com")
            pristine = copy.deepcopy(sent)
            created = await s.users.create(sent)
            assert sent == pristine, "create must not modify its argument"
            stored = copy.deepcopy(created)
            sent["name"]["givenName"] = "Changed-input"
            sent["emails"].append(work_email("input@example.com", primary=False))
            for returned in (created, await s.users.get(created["id"]), (await s.search()).resources[0]):
                returned["displayName"] = "Changed-output"
                returned["name"]["givenName"] = "Changed-output"
                returned["emails"][0]["value"] = "changed@example.com"
                returned[ENTERPRISE_USER_URN]["department"] = "Changed-output"
                returned["meta"]["created"] = "1999-01-01T00:00:00Z"
                assert await s.users.get(created["id"]) == stored
            replacement = full_user("copy@example.com", title="Lead")
            replaced = await s.users.replace(created["id"], replacement)
            replacement["title"] = "Changed-input"
            replaced["title"] = "Changed-output"
            assert (await s.users.get(created["id"]))["title"] == "Lead"
        contract.run(check)

    # -- missing and deleted ids ----------------------------------------------------------
    def test_missing_ids_raise_not_found(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            existing = await s.users.create(full_user("here@example.com"))
            for missing in ("no-such-id", existing["id"] + "-missing", "0", "999999999"):
                if missing == existing["id"]:
                    continue
                with pytest.raises(NotFound):
                    await s.users.get(missing)
                with pytest.raises(NotFound):
                    await s.users.replace(missing, full_user("other@example.com"))
                with pytest.raises(NotFound):
                    await s.users.delete(missing)
            assert (await s.search()).total_results == 1, "a NotFound must not have written anything"
        contract.run(check)

    def test_deleted_user_is_gone(self, contract: ContractRunner) -> None:
        """After a delete the id is found by nothing (RFC 7644 §3.6): get, a second delete,
        replace and search."""
        async def check(s: ContractSession) -> None:
            keep, gone = await s.create_all(full_user("keep@example.com"), full_user("gone@example.com"))
            await s.users.delete(gone["id"])
            with pytest.raises(NotFound):
                await s.users.get(gone["id"])
            with pytest.raises(NotFound):
                await s.users.delete(gone["id"])
            with pytest.raises(NotFound):
                await s.users.replace(gone["id"], full_user("gone@example.com"))
            page = await s.search()
            assert [r["id"] for r in page.resources] == [keep["id"]] and page.total_results == 1
            assert await s.users.get(keep["id"]) == keep
        contract.run(check)

    def test_deprovisioned_user_can_be_created_again_with_a_new_id(self, contract: ContractRunner) -> None:
        """Delete, then create the same userName: it succeeds with a new id; the old id stays
        not found (ids are never reused)."""
        async def check(s: ContractSession) -> None:
            first = await s.users.create(full_user("again@example.com"))
            await s.users.delete(first["id"])
            second = await s.users.create(full_user("again@example.com", title="Returning"))
            assert second["id"] != first["id"]
            assert (await s.users.get(second["id"]))["title"] == "Returning"
            with pytest.raises(NotFound):
                await s.users.get(first["id"])
            with pytest.raises(NotFound):
                await s.users.delete(first["id"])
            assert [r["id"] for r in (await s.search()).resources] == [second["id"]]
        contract.run(check)

    # -- uniqueness -----------------------------------------------------------------------
    def test_user_name_is_unique_ignoring_case(self, contract: ContractRunner) -> None:
        """userName is unique and not caseExact (RFC 7643 §4.1.1): a clash in any case is
        ``AlreadyExists`` and writes nothing."""
        async def check(s: ContractSession) -> None:
            await s.users.create(full_user("Alice@Example.com"))
            for clash in ("Alice@Example.com", "alice@example.com", "ALICE@EXAMPLE.COM"):
                with pytest.raises(AlreadyExists):
                    await s.users.create(full_user(clash, title="Duplicate"))
            page = await s.search()
            assert page.total_results == 1 and page.resources[0]["title"] == "Engineer"
        contract.run(check)

    def test_replace_to_a_taken_user_name_is_refused(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            alice, bob = await s.create_all(full_user("alice@example.com"), full_user("bob@example.com"))
            with pytest.raises(AlreadyExists):
                await s.users.replace(bob["id"], full_user("ALICE@example.com"))
            assert await s.users.get(bob["id"]) == bob, "a refused replace must change nothing"
            renamed = await s.users.replace(alice["id"], full_user("ALICE@Example.COM"))
            assert renamed["userName"] == "ALICE@Example.COM", "a user may change the case of its own userName"
        contract.run(check)

    # -- replace --------------------------------------------------------------------------
    def test_replace_stores_the_new_resource(self, contract: ContractRunner) -> None:
        """Replace (RFC 7644 §3.5.1) keeps ``id`` and ``meta.created``, stores exactly what was
        sent, and a later ``get`` returns what ``replace`` returned."""
        async def check(s: ContractSession) -> None:
            created = await s.users.create(full_user("swap@example.com"))
            sent = full_user("swapped@example.com", title="Director", display_name="Swapped", active=False,
                             external_id="ext-new", department="Sales", employee_number="E-2",
                             emails=[work_email("swapped@example.com"), work_email("x@example.net", primary=False)])
            replaced = await s.users.replace(created["id"], copy.deepcopy(sent))
            assert replaced["id"] == created["id"]
            assert_server_fields(replaced, s.caps)
            assert replaced["meta"]["created"] == created["meta"]["created"]
            assert _timestamp(replaced["meta"], "lastModified") >= _timestamp(created["meta"], "lastModified")
            assert user_view(replaced) == user_view(sent)
            assert await s.users.get(created["id"]) == replaced
        contract.run(check)

    def test_replace_clears_absent_attributes(self, contract: ContractRunner) -> None:
        """Attributes absent from the replacement are cleared, not kept (RFC 7644 §3.5.1)."""
        async def check(s: ContractSession) -> None:
            created = await s.users.create(full_user("full@example.com"))
            sent = make_user("full@example.com", active=True)
            replaced = await s.users.replace(created["id"], copy.deepcopy(sent))
            for resource in (replaced, await s.users.get(created["id"])):
                assert user_view(resource) == user_view(sent), "attributes absent from a replace must be cleared"
                assert ENTERPRISE_USER_URN not in resource["schemas"]
        contract.run(check)
