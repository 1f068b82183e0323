"""The SCIM PATCH engine: RFC 7644 §3.5.2 ``add`` / ``replace`` / ``remove`` on a canonical resource.

:func:`apply_patch` returns a new resource (the input is deep-copied, never mutated); the
operations apply in order and any :class:`~gateway.scim.errors.ProtocolError` aborts the whole
PATCH (RFC 7644 §3.5.2: a PATCH request "SHALL be treated as atomic"). The result is not validated
as a whole; the caller validates it against the JSON Schema.

- :mod:`.engine`: the operations, in order, and whole schema blocks;
- :mod:`.targets`: what a PATCH path names;
- :mod:`.writes`: how an operation changes the attribute a path names;
- :mod:`.coercion`: a PATCH value in the attribute's type;
- :mod:`.multi_valued`: the rules for elements of multi-valued attributes;
- :mod:`.unknown_extensions`: attributes of extensions the schema does not know, kept as given.

Rules (RFC 7644 §3.5.2.1–3 unless a ``Note`` names a client):

- ``op`` is case-insensitive (Note: Entra ID sends ``Add``/``Replace``/``Remove``); anything else is
  ``invalidSyntax``. ``remove`` without ``path`` is ``noTarget`` (§3.5.2.2).
- Every path and every key inside a value is canonicalised against the schema. Unknown plain
  attributes are skipped; attributes of an extension URN the schema does not know are stored
  under that URN as given. Note: Entra ID puts
  all changed attributes of a user into one PATCH, so one unknown attribute must not block
  e.g. ``active=false``.
- A path naming a never-returned attribute (``password``) is accepted and ignored: such a value
  is never kept (RFC 7643 §4.1.1), so it cannot be changed either.
- A path naming a ``readOnly`` attribute (``id``, ``meta``, ``groups``) is ``mutability``; inside a
  path-less value such keys are skipped (clients echo them). An ``immutable`` attribute may get a
  first value but not a different one (``mutability``). Unassigning a required attribute
  (``userName``) is ``mutability`` (§3.5.2.2, last paragraph).
- Path-less ``add``/``replace``: ``value`` must be an object; each key is applied as if it were a
  path (Note: Entra ID sends dotted ``name.givenName`` and URN-prefixed keys there); an extension
  URN key with an object value is applied key by key.
- Single-valued attribute: ``add`` and ``replace`` both set the value (§3.5.2.1: "the existing value
  is replaced"). ``null`` or ``""`` unassigns it (Note: Microsoft's SCIM_Null_Update test sends
  ``""`` then ``null`` and expects the attribute to be gone).
- Single-valued complex attribute (``name``, ``manager``): ``add`` and ``replace`` both *merge* the
  given sub-attributes and keep the others (§3.5.2.3: "Sub-attributes that are not specified in
  the value parameter are left unchanged"); a ``null``/``""`` sub-value removes that
  sub-attribute. Exception: when a complex attribute with a ``value`` sub-attribute (a
  reference such as ``manager``) gets a different ``value``, the whole object is replaced, so no
  stale ``$ref``/``displayName`` survives. ``manager`` may arrive as a bare id, as
  ``{"value": id}`` or as ``[{"$ref": ..., "value": id}]`` (Note: Entra ID); an empty id removes it.
- Multi-valued attribute without filter: ``add`` appends the values not already present (a
  lone value counts as a one-element array; an element with the same ``value`` and ``type`` is
  merged instead of duplicated); ``replace`` replaces the whole list; ``remove`` removes
  everything, or only the listed values when ``value`` is given (Note: Entra ID removes a group
  member with ``path: members`` plus a ``value`` array).
- Value path ``attr[filter]`` / ``attr[filter].sub``: ``add``/``replace`` merge into (or set the
  sub-attribute of) every matching element and never touch the others. With no match, a filter
  made of ``eq`` comparisons joined by ``and`` creates one element carrying those values (so
  several ops on ``addresses[type eq "work"].*`` build ONE address); any other filter is
  ``noTarget`` (§3.5.2.3). ``remove`` drops the matching elements (or only their sub-attribute);
  no match is a no-op. An element left with no data after a removal (no ``value`` where the
  attribute has one, or only ``type``/``primary``/``display``) is dropped.
- Setting ``primary: true`` on one element sets it to ``false`` on the others (§3.5.2).
- Booleans accept ``"True"``/``"False"`` in any case (Note: Entra ID without ``aadOptscim062020``);
  other strings are ``invalidValue``.
- Afterwards every known extension block that is empty is dropped, and ``schemas`` lists an
  extension URN exactly when its block is present (Note: Entra ID lists the enterprise URN even
  when it sends no enterprise attribute).
"""

from gateway.scim.patch.engine import apply_patch

__all__ = ["apply_patch"]
