"""The LDAP adapter: SCIM Users of a location as ``inetOrgPerson`` entries in ``ou=<location>,<base_dn>``.

I/O only: the entry ⇄ SCIM mapping is :mod:`adapters.ldap.mapping`, the filter translation
:mod:`adapters.ldap.filters`, ordering and paging :mod:`adapters.ldap.sorting`. Each SCIM
operation is one function run on an ldap3 worker thread (:mod:`adapters.ldap.client`).

- Users are the ``inetOrgPerson`` entries with a userName value directly below the location's OU
  (one-level searches); a location exists when its OU exists. An entry in a sub-OU is no user, but
  its userName is taken (:mod:`adapters.ldap.uniqueness`).
- Uniqueness of userName in a location: a search before the add catches entries named by anyone,
  and gateway entries are named ``uid=scim-<hash of the normalised userName>``, so two concurrent
  creates of one userName collide on the DN and exactly one wins (the other gets 409). A rename
  of userName moves the entry to the new name's DN the same way. Left open: an entry created by
  another tool, with another RDN, between the search and the add; and renames of entries another
  tool named (their DN is theirs, so a rename cannot claim the new name's), which are checked,
  not claimed: two onto one userName at the same moment can both succeed. A ``userName eq`` look-up
  compares the same normalised form (:mod:`adapters.ldap.user_name_lookup`).
- Optimistic concurrency without server extensions: a modify deletes the exact old values it
  replaces (and the gateway's JSON value, which carries a write counter) before adding the new
  ones, in one atomic modify (RFC 4511 §4.6). A concurrent SCIM write makes it fail with
  noSuchAttribute, which becomes ``VersionMismatch`` (or a retry when no version was asked for).
  A DELETE with ``If-Match`` is checked against the version read just before; LDAP has no
  conditional delete without the assertion control, so a change in between is not detected.
- ``delete_policy``: ``"delete"`` (default) removes the entry — Note: Entra ID disables a user
  (PATCH active false) before it ever deletes one, so a DELETE means "gone". ``"disable"`` sets
  ``shadowExpire: 1`` and moves the entry to ``ou=deprovisioned,ou=<location>,<base_dn>`` as
  ``uid=<entryUUID>``: it keeps its data, and SCIM (one-level searches) no longer finds it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from adapters.activity import Journal
from adapters.base import MODIFY_ATTEMPTS, Adapter, Capabilities, Change, Resource, ResourceAdapter, Tenant
from adapters.location_ids import location_number
from adapters.errors import AlreadyExists, Contention, InvalidValue, NotFound, Unavailable, VersionMismatch
from adapters.ldap import mapping
from adapters.ldap.attributes import refused_value
from adapters.ldap.client import LdapClient, escape_rdn, ldap3, ldap_errors, read, search
from adapters.ldap.uniqueness import check_free
from adapters.ldap.directory_schema import LdapAttributeType, allowed_attributes, attribute_types
from adapters.ldap.filters import DECLARED_OPS, ENTRY_UUID, FilterTranslator
from adapters.ldap.mapping import Entry
from adapters.ldap.modifications import CONFLICTS, best_effort, changes_to, swap
from adapters.ldap.options import OPTIONS_SCHEMA, LdapSettings
from adapters.ldap.sorting import Sorter
from adapters.ldap.user_name_lookup import entry_named, same_user_name, user_name_eq
from adapters.query import ListQuery, Page
from adapters.schema import user_schema_info
from adapters.versions import ExpectedVersion

DEPROVISIONED_OU = "deprovisioned"  # (a DELETE of an entry another tool put entries below: 409)
_WRITE_ATTEMPTS = 5


class _Conflict(Exception):
    """A write lost a race with another writer (internal: retried or turned into VersionMismatch)."""


def _check_version(id: str, expected_version: ExpectedVersion | None, current: str) -> None:
    if expected_version is not None and not expected_version.matches(current):
        raise VersionMismatch(f"User {id} has changed: its current version is {current}")


class LdapUserAdapter(ResourceAdapter):
    """Users of one location (the entries directly below ``ou=<location>,<base_dn>``)."""

    #: Operators, and/or/not and value paths as :mod:`adapters.ldap.filters` answers them (no
    #: ORDERING rule in the default schema: gt/ge/lt/le only on meta.created/lastModified);
    #: sorting is done in the adapter (adapters.ldap.sorting).
    capabilities: ClassVar[Capabilities] = Capabilities(
        filter_ops=DECLARED_OPS,
        logical=True, sort=True, etag=True, max_results=200,
    )

    def __init__(self, store: "LdapAdapter", tenant: str) -> None:
        self._store = store
        self._settings = store.settings
        self._amap = store.settings.attributes
        self._base = f"ou={escape_rdn(tenant)},{store.settings.base_dn}"
        self._user = f"(objectClass=inetOrgPerson)({self._amap.user_name.ldap}=*)"

    # -- reads ---------------------------------------------------------------------------
    async def get(self, id: str) -> Resource:
        entry = await self._store.client.run(lambda conn: self._find(conn, id))
        if entry is None:
            raise NotFound(f"User {id} not found")
        return mapping.from_ldap(entry, self._amap)

    async def search(self, query: ListQuery) -> Page:
        """Every match is read (LDAP has no count), mapped, checked, ordered and sliced off the loop."""
        ldap_filter = self._store.translator.translate(query.filter)
        if query.sort is not None:
            self._store.sorter.key_function(query.sort.path)  # unsupported sorts fail before the search
        text = f"(&{self._user}{ldap_filter.text})"
        named = user_name_eq(query.filter)

        def run(conn: Any) -> Page:
            found = [r for r in (mapping.from_ldap(e, self._amap) for e in self._search(conn, text))
                     if ldap_filter.matches(r)]
            if not found and named is not None:  # user_name_lookup: stray white space the directory keeps
                entries = entry_named(conn, named, self._dn, self._store.attributes)
                found = [r for r in (mapping.from_ldap(e, self._amap) for e in entries)
                         if ldap_filter.matches(r) and same_user_name(r.get("userName"), named)]
            ordered = self._store.sorter.order(found, query.sort)
            start = query.start_index - 1
            return Page(resources=ordered[start:start + query.count], total_results=len(ordered))
        return await self._store.client.run(run)

    # -- writes --------------------------------------------------------------------------
    async def create(self, resource: Resource, *, journal: Journal | None = None) -> Resource:
        desired = mapping.to_ldap(resource, self._amap, types=self._store.types)
        entry = await self._store.client.run(lambda conn: self._create(conn, resource, desired), retry=False)
        return mapping.from_ldap(entry, self._amap)

    async def replace(self, id: str, resource: Resource, *, expected_version: ExpectedVersion | None = None,
                      journal: Journal | None = None) -> Resource:
        entry = await self._store.client.run(
            lambda conn: self._replace(conn, id, lambda current: resource, expected_version), retry=False)
        return mapping.from_ldap(entry, self._amap)

    async def modify(self, id: str, change: Change, *, expected_version: ExpectedVersion | None = None,
                     journal: Journal | None = None) -> Resource:
        """A PATCH on the worker thread: each attempt reads the entry once, checks its version,
        applies ``change`` to it and writes with a compare-and-swap (see :meth:`_write`)."""
        entry = await self._store.client.run(
            lambda conn: self._replace(conn, id, lambda current: change(mapping.from_ldap(current, self._amap)),
                                       expected_version, attempts=MODIFY_ATTEMPTS), retry=False)
        return mapping.from_ldap(entry, self._amap)

    async def delete(self, id: str, *, expected_version: ExpectedVersion | None = None,
                     journal: Journal | None = None) -> None:
        await self._store.client.run(lambda conn: self._delete(conn, id, expected_version), retry=False)

    # -- operations (run on a worker thread with one connection) ----------------------------
    def _search(self, conn: Any, text: str) -> list[Entry]:
        try:
            return search(conn, self._base, ldap3.LEVEL, text, self._store.attributes, limit=self._settings.max_scan)
        except ldap_errors.LDAPNoSuchObjectResult:
            raise NotFound("this location does not exist in the directory") from None

    def _find(self, conn: Any, id: str) -> Entry | None:
        if not ENTRY_UUID.fullmatch(id):
            return None
        found = self._search(conn, f"(&{self._user}(entryUUID={id}))")
        return found[0] if found and found[0].first("entryUUID") == id else None

    def _check_free(self, conn: Any, user_name: str, except_id: str | None = None) -> None:
        check_free(conn, self._base, f"ou={DEPROVISIONED_OU},{self._base}", self._user, self._amap, user_name,
                   except_id)

    def _dn(self, rdn: str) -> str:
        return f"{mapping.RDN_ATTRIBUTE}={rdn},{self._base}"

    def _create(self, conn: Any, resource: Resource, desired: mapping.Desired) -> Entry:
        user_name = resource["userName"]
        self._check_free(conn, user_name)
        attributes: dict[str, Any] = {name: values for name, values in desired.values.items() if values}
        attributes[mapping.RDN_ATTRIBUTE] = [desired.rdn]
        attributes[mapping.BLOB_ATTRIBUTE] = [desired.blob]
        classes = ["top", "person", "organizationalPerson", *desired.add_object_classes]
        for attempt in (1, 2):
            try:
                conn.add(self._dn(desired.rdn), classes, attributes)
                break
            except ldap_errors.LDAPEntryAlreadyExistsResult:
                if attempt == 2 or not self._free_stale_name(conn, desired.rdn, user_name):
                    raise AlreadyExists(f"userName {user_name!r} is already taken in this location") from None
            except ldap_errors.LDAPNoSuchObjectResult:
                raise NotFound("this location does not exist in the directory") from None
            except (ldap_errors.LDAPInvalidAttributeSyntaxResult, ldap_errors.LDAPConstraintViolationResult,
                    ldap_errors.LDAPObjectClassViolationResult) as exc:
                raise refused_value(exc, self._amap) from None
        entry = read(conn, self._dn(desired.rdn), self._store.attributes)
        if entry is None:
            raise Unavailable("the new entry vanished before it could be read back")
        return entry

    def _free_stale_name(self, conn: Any, rdn: str, user_name: str) -> bool:
        """An entry holds the DN of ``user_name`` but (edited by another tool) no longer has that
        userName: move it to the DN of its own userName and report whether the DN is free now."""
        holder = read(conn, self._dn(rdn), self._store.attributes)
        if holder is None:
            return True
        if mapping.read_blob(holder).get(mapping.PENDING_RDN) == rdn:
            return False  # a rename to this name is in progress
        current = holder.first(self._amap.user_name.ldap)
        if current is not None and mapping.normalise_user_name(current) == mapping.normalise_user_name(user_name):
            return False
        target = mapping.rdn_value(current) if current else f"{holder.first('entryUUID')}"
        try:
            conn.modify_dn(holder.dn, f"{mapping.RDN_ATTRIBUTE}={target}", delete_old_dn=True)
        except ldap_errors.LDAPOperationResult:
            return False
        return True

    def _replace(self, conn: Any, id: str, make: Callable[[Entry], Resource | None],
                 expected_version: ExpectedVersion | None, attempts: int = _WRITE_ATTEMPTS) -> Entry:
        """Write what ``make`` builds from the current entry (nothing when it builds None),
        starting over (up to ``attempts`` times, on this worker thread) when another writer got
        in between; ``Contention`` after the last."""
        for attempt in range(1 if expected_version is not None else attempts):
            if attempt:
                time.sleep(random.uniform(0, 0.002) * attempt)  # on the worker thread: contenders spread out
            current = self._find(conn, id)
            if current is None:
                raise NotFound(f"User {id} not found")
            version = mapping.version_tag(current, self._amap)
            _check_version(id, expected_version, version)
            resource = make(current)
            if resource is None:
                return current
            desired = mapping.to_ldap(resource, self._amap, current, self._store.types)
            old_name = current.first(self._amap.user_name.ldap) or ""
            new_name = resource["userName"]
            if mapping.normalise_user_name(old_name) != mapping.normalise_user_name(new_name):
                self._check_free(conn, new_name, except_id=id)
            try:
                return self._write(conn, current, desired, version, new_name)
            except _Conflict:
                continue
        if expected_version is not None:
            raise VersionMismatch(f"User {id} was changed by another request at the same time")
        raise Contention(f"User {id} is being changed by other requests; retry")

    def _write(self, conn: Any, current: Entry, desired: mapping.Desired, version: str, user_name: str) -> Entry:
        """Rename (a gateway entry whose userName changed) and modify; ``_Conflict`` on a race.

        A rename first marks the entry's JSON value as "being renamed" (a compare-and-swap),
        then claims the new DN (atomic: a taken name fails here, nothing changed), then writes.
        """
        dn, blobs = current.dn, mapping.blob_values(current)
        rdn_attr, _, rdn_value = dn.split(",", 1)[0].partition("=")
        renamed = rdn_attr.lower() == mapping.RDN_ATTRIBUTE and mapping.is_gateway_rdn(rdn_value) \
            and rdn_value != desired.rdn
        if renamed:
            claim = mapping.claim_blob(current, desired.rdn)
            try:
                conn.modify(dn, {mapping.BLOB_ATTRIBUTE: swap(blobs, claim)})
            except CONFLICTS:
                raise _Conflict() from None
            for attempt in (1, 2):
                try:
                    conn.modify_dn(dn, f"{mapping.RDN_ATTRIBUTE}={desired.rdn}", delete_old_dn=True)
                    break
                except ldap_errors.LDAPEntryAlreadyExistsResult:
                    if attempt == 2 or not self._free_stale_name(conn, desired.rdn, user_name):
                        best_effort(conn.modify, dn, {mapping.BLOB_ATTRIBUTE: swap([claim], *blobs)})
                        raise AlreadyExists(f"userName {user_name!r} is already taken in this location") from None
                except ldap_errors.LDAPNoSuchObjectResult:
                    raise _Conflict() from None
            dn, blobs = self._dn(desired.rdn), [claim]
        try:
            conn.modify(dn, changes_to(current, desired, blobs))
        except CONFLICTS as exc:
            if renamed:
                best_effort(conn.modify_dn, dn, f"{rdn_attr}={rdn_value}", delete_old_dn=True)
            again = self._find(conn, current.first("entryUUID") or "")
            if again is None or mapping.version_tag(again, self._amap) != version:
                raise _Conflict() from None
            if isinstance(exc, ldap_errors.LDAPConstraintViolationResult):
                raise refused_value(exc, self._amap) from None
            raise Unavailable(f"the directory refused the update: {type(exc).__name__}") from None
        except (ldap_errors.LDAPInvalidAttributeSyntaxResult, ldap_errors.LDAPObjectClassViolationResult,
                ldap_errors.LDAPNotAllowedOnRDNResult, ldap_errors.LDAPNamingViolationResult) as exc:
            if renamed:
                best_effort(conn.modify_dn, dn, f"{rdn_attr}={rdn_value}", delete_old_dn=True)
                best_effort(conn.modify, f"{rdn_attr}={rdn_value},{self._base}",
                                  {mapping.BLOB_ATTRIBUTE: swap(blobs, *mapping.blob_values(current))})
            if isinstance(exc, (ldap_errors.LDAPNotAllowedOnRDNResult, ldap_errors.LDAPNamingViolationResult)):
                raise InvalidValue("this change would alter the value that names the entry in the directory "
                                   "(its RDN); rename the entry there first") from None
            raise refused_value(exc, self._amap) from None
        entry = read(conn, dn, self._store.attributes)
        if entry is None:
            raise _Conflict()
        return entry

    def _delete(self, conn: Any, id: str, expected_version: ExpectedVersion | None) -> None:
        current = self._find(conn, id)
        if current is None:
            raise NotFound(f"User {id} not found")
        _check_version(id, expected_version, mapping.version_tag(current, self._amap))
        if self._settings.delete_policy == "delete":
            try:
                conn.delete(current.dn)
            except ldap_errors.LDAPNoSuchObjectResult:
                raise NotFound(f"User {id} not found") from None
            except ldap_errors.LDAPNotAllowedOnNotLeafResult:
                raise Contention(f"User {id} has entries below it (another tool's): remove them, or use "
                                 'delete_policy = "disable"') from None
            return
        resource = {**mapping.from_ldap(current, self._amap), "active": False}
        desired = mapping.to_ldap(resource, self._amap, current, self._store.types)
        try:
            conn.modify(current.dn, changes_to(current, desired))
        except CONFLICTS:
            raise VersionMismatch(f"User {id} was changed by another request at the same time") from None
        deprovisioned = f"ou={DEPROVISIONED_OU},{self._base}"
        try:
            conn.add(deprovisioned, ["top", "organizationalUnit"], {"ou": DEPROVISIONED_OU})
        except ldap_errors.LDAPEntryAlreadyExistsResult:
            pass
        conn.modify_dn(current.dn, f"{mapping.RDN_ATTRIBUTE}={id}", delete_old_dn=False, new_superior=deprovisioned)


class LdapAdapter(Adapter):
    """An LDAP directory; tenants are the location OUs below ``base_dn``."""

    name: ClassVar[str] = "ldap"
    options_schema: ClassVar[Mapping[str, Any]] = OPTIONS_SCHEMA

    def __init__(self, settings: LdapSettings) -> None:
        self.settings = settings
        self.client = LdapClient(settings)
        self.types: dict[str, LdapAttributeType] = {}
        self.translator: FilterTranslator = FilterTranslator(settings.attributes, {}, user_schema_info())
        self.sorter = Sorter(user_schema_info())
        self.attributes = sorted({*settings.attributes.ldap_attributes(), "cn", "sn", "objectClass",
                                  mapping.RDN_ATTRIBUTE, "shadowExpire", mapping.BLOB_ATTRIBUTE,
                                  *mapping.OPERATIONAL})

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "LdapAdapter":
        return cls(LdapSettings.from_options(options))

    async def start(self) -> None:
        await self.client.open()
        try:
            self._check_schema()
            await self.client.run(self._check_base)
        except BaseException:
            await self.client.close()
            raise

    def _check_schema(self) -> None:
        schema = self.client.schema
        names = [*self.settings.attributes.ldap_attributes(), "cn", "sn", "shadowExpire", "uid"]
        try:
            self.types = attribute_types(schema, names)
        except KeyError as exc:
            raise Unavailable(f"the directory schema has no attribute {exc.args[0]!r}") from None
        allowed = allowed_attributes(schema, ["inetOrgPerson"])
        if "shadowexpire" not in allowed_attributes(schema, ["shadowAccount"]):
            raise Unavailable("the directory schema lacks the RFC 2307 shadowAccount class (nis schema)")
        for mapped in self.settings.attributes.by_ldap.values():
            if mapped.ldap_key not in allowed:
                raise Unavailable(f"{mapped.key} is mapped to {mapped.ldap!r}, which inetOrgPerson does not allow")
            if self.types[mapped.ldap_key].equality is None:
                raise Unavailable(f"{mapped.ldap!r} (for {mapped.key}) has no EQUALITY matching rule")
        self.translator = FilterTranslator(self.settings.attributes, self.types, user_schema_info())

    def _check_base(self, conn: Any) -> None:
        """The base DN exists, read paged as a search is (a refused page size fails start and /readyz)."""
        try:
            found = search(conn, self.settings.base_dn, ldap3.BASE, "(objectClass=*)", ["1.1"])
        except ldap_errors.LDAPNoSuchObjectResult:
            found = []
        if not found:
            raise Unavailable(f"the base DN {self.settings.base_dn!r} does not exist in the directory")

    async def stop(self) -> None:
        await self.client.close()

    async def check_health(self) -> None:
        await self.client.run(self._check_base)

    async def tenant_exists(self, tenant: str) -> bool:
        if location_number(tenant) is None:
            return False
        dn = f"ou={escape_rdn(tenant)},{self.settings.base_dn}"
        return await self.client.run(lambda conn: read(conn, dn, ["1.1"]) is not None)

    async def tenants(self) -> list[Tenant]:
        """The organisational units directly below ``base_dn`` named by a location id
        (:mod:`adapters.location_ids`), in numeric order; the name shown is the unit's
        ``description`` when it has one."""
        found = await self.client.run(lambda conn: search(
            conn, self.settings.base_dn, ldap3.LEVEL, "(objectClass=organizationalUnit)", ["ou", "description"]))
        listed: dict[str, Tenant] = {}
        for entry in found:
            rdn = entry.dn.split(",", 1)[0]
            ou = rdn[3:] if rdn[:3].lower() == "ou=" else None
            if ou is not None and location_number(ou) is not None:
                listed[ou] = Tenant(ou, entry.first("description") or f"ou={ou}")
        return sorted(listed.values(), key=lambda t: int(t.id))

    def resource_adapter(self, resource_type: str, tenant: str) -> ResourceAdapter:
        if resource_type != "User" or location_number(tenant) is None:
            raise NotFound(f"no {resource_type} storage for tenant {tenant[:40]}")
        return LdapUserAdapter(self, tenant)
