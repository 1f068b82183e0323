"""Request bodies accepted or refused (RFC 7643 §2, RFC 7644 §3.3, §3.4.3, §3.5.2).

The flow for a resource body is :func:`validate_schemas_member` (POST/PUT), then
:func:`canonicalise_resource` (names to schema case, client quirks absorbed, read-only and
unknown attributes dropped), then :func:`validate_resource` (types, required attributes). Each
raises :class:`~gateway.scim.errors.InvalidValue` or :class:`~gateway.scim.errors.InvalidSyntax`,
whose ``detail`` is one sentence naming the attribute path, e.g. ``emails[0].primary must be a
boolean``.

- :mod:`.canonical`: the canonical form of a resource body;
- :mod:`.resource`: the ``schemas`` member, and a canonical resource checked;
- :mod:`.envelopes`: the PATCH and ``.search`` message bodies;
- :mod:`.json_schemas`: the request JSON Schemas, each compiled once;
- :mod:`.schema_errors`: the sentence a client gets for a body its JSON Schema rejects.
"""

from gateway.scim.validation.canonical import canonicalise_resource
from gateway.scim.validation.envelopes import validate_patch_request, validate_search_request
from gateway.scim.validation.resource import validate_resource, validate_schemas_member

__all__ = ["canonicalise_resource", "validate_patch_request", "validate_resource", "validate_schemas_member",
           "validate_search_request"]
