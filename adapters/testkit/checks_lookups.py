"""Contract checks of what Entra ID and Okta read back: every attribute they send, and the
look-ups they run before each write.

- Round trip: a User with every attribute they send (phones, addresses, ``preferredLanguage``,
  ``locale``, ``nickName``, the enterprise ``manager``, an unknown extension's attributes) comes
  back exactly as sent from ``create``, ``get``, ``search`` and ``replace`` (RFC 7644 §3.3,
  §3.5.1; README, "Entra ID guide": everything else is "returned exactly as sent").
- Look-ups (RFC 7644 §3.4.2.2): after a rename ``userName eq`` the old name finds nothing, the
  new one (in any case) finds the user, and the old name can be created again; after a delete
  neither the id, the userName nor the externalId finds it, and the userName can be created
  again. A stale index answers these wrongly while ``get`` and an unfiltered search look right.
- Several values of one type (RFC 7643 §2.4: ``type`` names a kind, not a key): a second work or
  mobile number comes back as sent and a filter finds it, beside a first that a directory column
  may hold.
"""

from __future__ import annotations

import copy

from adapters.base import Resource
from adapters.query import And, AttrPath, Compare, Filter, ValuePath
from adapters.testkit.checks_modify import setting
from adapters.testkit.resources import full_user, user_view
from adapters.testkit.session import ContractRunner, ContractSession

__all__ = ["LookupChecks"]


def _eq(attr: str, value: str) -> Filter:
    return Compare(AttrPath(attr), "eq", value)


def _lost(sent: Resource, returned: Resource) -> list[str]:
    """The top-level attributes (and extension URNs) not returned exactly as sent."""
    got, want = user_view(returned), user_view(sent)
    return sorted(key for key in set(got) | set(want) if got.get(key) != want.get(key))


class LookupChecks:
    """The round trip of every attribute, and look-ups after renames and deletes."""

    def test_every_attribute_comes_back_exactly_as_sent(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            sent = full_user("round.trip@example.com")
            created = await s.users.create(copy.deepcopy(sent))
            listed = [r for r in await s.all_resources() if r["id"] == created["id"]]
            for what, returned in (("create", created), ("get", await s.users.get(created["id"])),
                                   ("search", listed[0] if listed else {})):
                assert not _lost(sent, returned), f"{what} did not return as sent: {_lost(sent, returned)}"
            changed = full_user("round.trip@example.com", nick_name="Trip", locale="fr-CA", preferred_language="fr",
                                manager="another-manager", custom={"costCenter": "CC-7", "badges": ["red"]},
                                phone_numbers=[{"value": "+33 1 23 45 67 89", "type": "mobile", "primary": True}],
                                addresses=[{"type": "home", "country": "FR", "locality": "Paris"}])
            replaced = await s.users.replace(created["id"], copy.deepcopy(changed))
            for what, returned in (("replace", replaced), ("get", await s.users.get(created["id"]))):
                assert not _lost(changed, returned), f"{what} did not return as sent: {_lost(changed, returned)}"
        contract.run(check)

    def test_a_second_number_of_a_type_is_kept_shown_and_found(self, contract: ContractRunner) -> None:
        """A directory with one work and one mobile column dropped the second of each, answering
        2xx (an advertised-versus-actual review); a filter must see what a read shows."""
        async def check(s: ContractSession) -> None:
            s.require("eq" in s.caps.filter_ops, "the adapter does not declare the eq operator")
            phones = [{"type": "work", "value": "+91 11 1111 1111"}, {"type": "work", "value": "+91 11 2222 2222"},
                      {"type": "mobile", "value": "+91 98 3333 3333"}, {"type": "mobile", "value": "+91 98 4444 4444"},
                      {"type": "fax", "value": "+91 11 5555 5555"}]
            created = await s.users.create(full_user("phones@example.com", phone_numbers=copy.deepcopy(phones)))
            assert created["phoneNumbers"] == phones, created["phoneNumbers"]
            assert (await s.users.get(created["id"]))["phoneNumbers"] == phones
            second_work = ValuePath(AttrPath("phoneNumbers"), And(Compare(AttrPath("type"), "eq", "work"),
                                                                  Compare(AttrPath("value"), "eq", "+91 11 2222 2222")))
            for probe in (Compare(AttrPath("phoneNumbers", "value"), "eq", "+91 98 4444 4444"), second_work):
                assert [r["id"] for r in await s.all_resources(probe)] == [created["id"]], f"{probe!r}"
            retitled = await s.users.modify(created["id"], setting(title="Kept"))
            assert retitled["phoneNumbers"] == phones, retitled["phoneNumbers"]
            fewer = phones[1:2] + phones[3:]
            replaced = await s.users.replace(created["id"], full_user("phones@example.com", phone_numbers=fewer))
            assert replaced["phoneNumbers"] == fewer == (await s.users.get(created["id"]))["phoneNumbers"]
            assert await s.user_names(Compare(AttrPath("phoneNumbers", "value"), "eq", "+91 11 1111 1111")) == set()
        contract.run(check)

    def test_look_ups_follow_a_rename(self, contract: ContractRunner) -> None:
        """Renamed by replace (a PUT) and by modify (a PATCH): ``userName eq`` finds the user by
        its new name only, and its old name is free."""
        async def check(s: ContractSession) -> None:
            s.require("eq" in s.caps.filter_ops, "the adapter does not declare the eq operator")
            put = await s.users.create(full_user("put.old@example.com"))
            patched = await s.users.create(full_user("patch.old@example.com"))
            await s.users.replace(put["id"], full_user("put.new@example.com"))
            await s.users.modify(patched["id"], setting(userName="patch.new@example.com"))
            for user, old, new in ((put, "put.old@example.com", "put.new@example.com"),
                                   (patched, "patch.old@example.com", "patch.new@example.com")):
                assert await s.user_names(_eq("userName", old)) == set(), f"userName eq {old!r} after the rename"
                for probe in (new, new.upper()):
                    found = [r["id"] for r in await s.all_resources(_eq("userName", probe))]
                    assert found == [user["id"]], f"userName eq {probe!r} found {found}, not the renamed user"
                again = await s.users.create(full_user(old))
                assert again["id"] != user["id"]
                assert [r["id"] for r in await s.all_resources(_eq("userName", old))] == [again["id"]]
        contract.run(check)

    def test_external_id_look_ups_follow_a_change(self, contract: ContractRunner) -> None:
        """Changed by replace (a PUT) and by modify (a PATCH): ``externalId eq`` finds the user by
        its new value only. Entra ID finds a user by ``externalId`` before it writes: an index left
        on the old value (an integrator review: the kit passed one) makes it create the user again."""
        async def check(s: ContractSession) -> None:
            s.require("eq" in s.caps.filter_ops, "the adapter does not declare the eq operator")
            put = await s.users.create(full_user("ext.put@example.com", external_id="ext-put-old"))
            patched = await s.users.create(full_user("ext.patch@example.com", external_id="ext-patch-old"))
            await s.users.replace(put["id"], full_user("ext.put@example.com", external_id="ext-put-new"))
            await s.users.modify(patched["id"], setting(externalId="ext-patch-new"))
            for user, old, new in ((put, "ext-put-old", "ext-put-new"), (patched, "ext-patch-old", "ext-patch-new")):
                assert await s.user_names(_eq("externalId", old)) == set(), f"externalId eq {old!r} after the change"
                found = [r["id"] for r in await s.all_resources(_eq("externalId", new))]
                assert found == [user["id"]], f"externalId eq {new!r} found {found}, not the changed user"
        contract.run(check)

    def test_look_ups_forget_a_deleted_user(self, contract: ContractRunner) -> None:
        async def check(s: ContractSession) -> None:
            s.require("eq" in s.caps.filter_ops, "the adapter does not declare the eq operator")
            gone = await s.users.create(full_user("leaver@example.com", external_id="ext-leaver"))
            await s.users.delete(gone["id"])
            for probe in (_eq("userName", "leaver@example.com"), _eq("userName", "LEAVER@example.com"),
                          _eq("externalId", "ext-leaver"), _eq("id", gone["id"])):
                assert await s.user_names(probe) == set(), f"{probe!r} found the deleted user"
            again = await s.users.create(full_user("Leaver@example.com", external_id="ext-leaver"))
            for probe in (_eq("userName", "leaver@example.com"), _eq("externalId", "ext-leaver")):
                assert [r["id"] for r in await s.all_resources(probe)] == [again["id"]], f"{probe!r}"
        contract.run(check)
