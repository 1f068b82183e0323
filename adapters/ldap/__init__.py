"""The LDAP adapter: SCIM Users as ``inetOrgPerson`` entries, one organisational unit per location.

Modules: :mod:`~adapters.ldap.options` (configuration and secrets), :mod:`~adapters.ldap.attributes`
(the SCIM → LDAP attribute map), :mod:`~adapters.ldap.directory_schema` (matching rules read
from the server), :mod:`~adapters.ldap.mapping` (entry ⇄ SCIM, pure),
:mod:`~adapters.ldap.filters` (SCIM filter → RFC 4515 filter and exact checks, pure; with
:mod:`~adapters.ldap.filter_parts` and :mod:`~adapters.ldap.string_match`), :mod:`~adapters.ldap.sorting`
(ordering and paging in the adapter), :mod:`~adapters.ldap.client` (ldap3 off the event loop) and
:mod:`~adapters.ldap.adapter` (the I/O). Registered as entry point ``ldap`` of ``vizmo_scim.adapters``.

Example configuration::

    [adapter]
    name = "ldap"
    [adapter.options]
    url = "ldaps://ldap.example.com:636"
    base_dn = "ou=locations,dc=example,dc=com"
    bind_dn = "cn=vizmo-scim,ou=services,dc=example,dc=com"
    bind_password_file = "/run/secrets/vizmo-ldap"     # or bind_password_env = "VIZMO_LDAP_PASSWORD"
    delete_policy = "delete"                             # or "disable"
    [adapter.options.attribute_map]
    externalId = "employeeNumber"                        # overrides one default
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber" = "employeeType"

The directory needs the core, cosine, inetorgperson and nis (RFC 2307, for ``shadowExpire``)
schemas and ``entryUUID`` (RFC 4530); index ``mail``, ``entryUUID`` and ``employeeType`` for
equality so Entra ID's ``userName``/``externalId`` lookups are index lookups.
"""
