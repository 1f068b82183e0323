"""The SCIM PATCH engine: RFC 7644 §3.5.2 ``add`` / ``replace`` / ``remove`` on a canonical resource.

:func:`apply_patch` returns a new resource (the input is deep-copied, never mutated); the
operations apply in order and any :class:`~gateway.scim.errors.ProtocolError` aborts the whole PATCH (RFC 7644 §3.5.2:
a PATCH request "SHALL be treated as atomic"). The result is not validated as a whole; the
caller validates it against the JSON Schema. Value coercion lives in :mod:`.patch_values`.

Rules (RFC 7644 §3.5.2.1–3 unless a ``Note`` names a client):

- ``op`` is case-insensitive (Note: Entra ID sends ``Add``/``Replace``/``Remove``); anything else is
  ``invalidSyntax``. ``remove`` without ``path`` is ``noTarget`` (§3.5.2.2).
- Every path and every key inside a value is canonicalised against the schema. Unknown plain
  attributes are skipped; attributes of an
  extension URN the schema does not know are stored under that URN as given. Note: Entra ID puts
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

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

from adapters.json_copy import copy_json
from adapters.query import AttrPath, Filter, ValuePath
from adapters.schema import Attribute, ResourceType, UnknownAttribute
from gateway.scim.canonical_filter import canonical_filter
from gateway.scim.errors import (FilterSyntaxError, InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget,
                                 OverLimit, ProtocolError)
from gateway.scim.filter import parse_patch_path
from gateway.scim.filter_eval import matches
from gateway.scim.limits import MAX_VALUES
from gateway.scim.patch_values import (
    ValueIndex,
    check_immutable,
    coerce,
    coerce_complex,
    coerce_scalar,
    eq_pairs,
    existing_key,
    fix_primary,
    is_vacant,
    object_at,
    raw_remove,
    raw_write,
    same_value,
)

__all__ = ["apply_patch"]

_OPS = ("add", "replace", "remove")
_MISSING: Any = object()


def apply_patch(resource: Mapping[str, Any], operations: Sequence[Mapping[str, Any]],
                rtype: ResourceType, *, max_values: int = MAX_VALUES) -> dict[str, Any]:
    """Return a new resource: ``resource`` with ``operations`` applied (RFC 7644 §3.5.2).

    An operation that leaves a multi-valued attribute with more than ``max_values`` values
    raises :class:`~gateway.scim.errors.OverLimit` at once, so a PATCH's work stays bounded.
    """
    if isinstance(operations, (str, bytes)) or not isinstance(operations, Sequence):
        raise InvalidSyntax('"Operations" must be an array of operations (RFC 7644 §3.5.2)')
    engine = _Engine(resource, rtype, max_values)
    for index, operation in enumerate(operations):
        engine.apply(index, operation)
    return engine.finish()


@dataclass(frozen=True)
class _Target:
    """A path resolved against the schema; ``block`` is the extension URN (``None`` for core)."""

    label: str
    block: str | None
    attr: Attribute
    sub: Attribute | None = None
    vfilter: Filter | None = None


@dataclass(frozen=True)
class _RawTarget:
    """A path into an extension the schema does not know; stored under ``block`` as given."""

    label: str
    block: str
    name: str
    sub: str | None = None


_AnyTarget = Union[_Target, _RawTarget]


class _Engine:
    """Applies operations one by one to a private deep copy of the resource."""

    def __init__(self, resource: Mapping[str, Any], rtype: ResourceType, max_values: int) -> None:
        self.rtype = rtype
        self.max_values = max_values
        self.res: dict[str, Any] = copy_json(dict(resource))
        self.raw_blocks: set[str] = set()
        for schema, _ in rtype.extensions:  # extension blocks are keyed by the schema's own URN
            for key in [k for k in self.res if isinstance(k, str) and k != schema.id
                        and k.lower() == schema.id.lower()]:
                self.res.setdefault(schema.id, self.res.pop(key))

    # --- operations -------------------------------------------------------------------------

    def apply(self, index: int, operation: Any) -> None:
        if not isinstance(operation, Mapping):
            raise InvalidSyntax(f"Operations[{index}] must be an object")
        fields = {str(key).lower(): value for key, value in operation.items()}
        op = fields.get("op")
        if not isinstance(op, str) or op.lower() not in _OPS:
            raise InvalidSyntax(f'Operations[{index}]: "op" must be "add", "replace" or '
                                f'"remove" (RFC 7644 §3.5.2), got {op!r}')
        op = op.lower()
        path = fields.get("path")
        if path is not None and not isinstance(path, str):
            raise InvalidPath(f'Operations[{index}]: "path" must be a string')
        path = (path or "").strip() or None
        try:
            if op == "remove":
                if path is None:
                    raise NoTarget('"remove" needs a "path" (RFC 7644 §3.5.2.2)')
                self.remove(path, fields.get("value", _MISSING))
            elif "value" not in fields:
                raise InvalidSyntax(f'"{op}" needs a "value" member (RFC 7644 §3.5.2)')
            elif path is None:
                self.write_pathless(op, fields["value"])
            else:
                self.write(op, path, fields["value"], explicit=True)
        except OverLimit:
            raise
        except ProtocolError as exc:  # the same error, saying which operation failed
            where = f"{op} {path}" if path else op
            raise type(exc)(f"Operations[{index}] ({where}): {exc.detail}") from None

    def write_pathless(self, op: str, value: Any) -> None:
        """Path-less add/replace: each key of ``value`` is a path (RFC 7644 §3.5.2.1, §3.5.2.3)."""
        if not isinstance(value, Mapping):
            raise InvalidValue('without "path", "value" must be an object mapping attribute '
                               f"names to values (RFC 7644 §3.5.2.1), not {type(value).__name__}")
        for key, item in value.items():
            name = key.strip() if isinstance(key, str) else ""
            if name and name.lower() != "schemas":
                self.write(op, name, item, explicit=False)

    def write(self, op: str, text: str, value: Any, *, explicit: bool) -> None:
        if self._block_op(op, text, value, explicit=explicit):
            return
        target = self._target(text, explicit=explicit)
        if isinstance(target, _RawTarget):
            raw_write(self.res, op, target.block, target.name, target.sub, value)
            block = self.res.get(target.block)
            if isinstance(block, dict):
                self._bounded(target.label, block.get(existing_key(block, target.name)))
        elif target is not None and self._writable(target, explicit):
            holder = self._holder(target.block)
            attr = target.attr
            if target.vfilter is not None or (target.sub is not None and attr.multi_valued):
                self._write_elements(holder, target, value)
            elif target.sub is not None:
                self._write_sub(holder, target, value)
            elif attr.multi_valued:
                self._write_multi(op, holder, target, value)
            elif attr.type == "complex":
                self._write_complex(holder, target, value)
            else:
                self._assign(holder, attr, coerce_scalar(attr, value, target.label), target.label)

    def remove(self, text: str, value: Any) -> None:
        """RFC 7644 §3.5.2.2; ``value`` (if given) limits a multi-valued removal to those values."""
        if self._block_op("remove", text, None, explicit=True):
            return
        target = self._target(text, explicit=True)
        if isinstance(target, _RawTarget):
            raw_remove(self.res, target.block, target.name, target.sub)
            return
        if target is None:
            return
        self._writable(target, explicit=True)
        holder = self._holder(target.block)
        attr, sub = target.attr, target.sub
        if target.vfilter is not None or (sub is not None and attr.multi_valued):
            elements = self._elements(holder, attr)
            hits = [e for e in elements if self._selects(target, e)]
            if not hits:
                return  # RFC 7644 §3.5.2.2 removes the matching values; no match, nothing to do
            if sub is None:
                elements = [e for e in elements if not _among(e, hits)]
            else:
                for hit in hits:
                    self._set_subs(attr, hit, {sub.name: None}, target.label)
            self._store_elements(holder, attr, elements, target.label, prune=hits)
        elif sub is not None:
            obj = _as_dict(holder.get(attr.name))
            if sub.name in obj:
                self._set_subs(attr, obj, {sub.name: None}, target.label)
                self._store(holder, attr, {} if is_vacant(attr, obj) else obj, target.label)
        elif attr.multi_valued and value is not _MISSING and value is not None:
            # Note: Entra ID (without aadOptscim062020) removes group members with
            # path "members" plus a value array: remove only the listed values, never all.
            doomed = self._coerce(attr, value, target.label) or []
            kept = [e for e in self._elements(holder, attr) if not any(same_value(e, d) for d in doomed)]
            self._store(holder, attr, kept, target.label)
        else:
            self._unassign(holder, attr, target.label)

    def finish(self) -> dict[str, Any]:
        """Drop empty extension blocks and make ``schemas`` list exactly the extensions present."""
        schemas = list(self.res.get("schemas") or [])
        listed = {s.lower() for s in schemas if isinstance(s, str)}
        if self.rtype.core.id.lower() not in listed:
            schemas.insert(0, self.rtype.core.id)
        for schema, _ in self.rtype.extensions:
            present = bool(self.res.get(schema.id))
            if not present:
                self.res.pop(schema.id, None)
                schemas = [s for s in schemas if not (isinstance(s, str) and s.lower() == schema.id.lower())]
            elif schema.id.lower() not in listed:
                schemas.append(schema.id)
        self.res["schemas"] = schemas
        for key in self.raw_blocks:
            if self.res.get(key) == {}:
                del self.res[key]
        return self.res

    # --- paths ------------------------------------------------------------------------------

    def _block_op(self, op: str, text: str, value: Any, *, explicit: bool) -> bool:
        """Handle a path that names a whole schema block (``urn:...:enterprise:2.0:User``)."""
        schema = self.rtype.schema_for_urn(text)
        custom = schema is None and self._is_custom_block(text)
        if schema is None and not custom:
            return False
        if schema is self.rtype.core:
            if op == "remove" or not isinstance(value, Mapping):
                raise InvalidPath(f"{text} names the core schema; name an attribute instead")
            self.write_pathless(op, value)
            return True
        key = schema.id if schema is not None else existing_key(self.res, text)
        if op == "remove" or value is None or value == "":
            self.res.pop(key, None)
            return True
        if not isinstance(value, Mapping):
            raise InvalidValue(f"the value of extension {key} must be an object of its attributes")
        for name, item in value.items():
            if custom:
                self.raw_blocks.add(key)
                raw_write(self.res, op, key, str(name), None, item)
            else:
                self.write(op, f"{key}:{name}", item, explicit=explicit)
        return True

    def _is_custom_block(self, text: str) -> bool:
        """An unknown URN ending in the resource type name, e.g. ``urn:...:CustomExt:2.0:User``."""
        return (text.lower().startswith("urn:") and self.rtype.split_urn(text) is None
                and text.rsplit(":", 1)[-1].lower() == self.rtype.name.lower())

    def _target(self, text: str, *, explicit: bool) -> _AnyTarget | None:
        """Resolve ``text``; ``None`` when it names an unknown attribute (the operation is skipped)."""
        try:
            parsed = parse_patch_path(text)
        except FilterSyntaxError as exc:
            if explicit:
                raise InvalidPath(f"{text!r} is not a valid attribute path: {exc}") from None
            return None
        path, vfilter = parsed.path, parsed.value_filter
        sub_name = parsed.sub_attr if vfilter is not None else (path.sub_attr or parsed.sub_attr)
        if vfilter is not None and path.sub_attr is not None:
            raise InvalidPath(f"{text!r}: a value filter must follow a top-level attribute")
        top = AttrPath(path.attr, urn=path.urn)
        try:
            canonical, attr = self.rtype.resolve(top)
        except UnknownAttribute:
            urn = path.urn  # the parser splits a URN off at its last colon
            if urn is not None and self.rtype.schema_for_urn(urn) is None and vfilter is None:
                raw_block = existing_key(self.res, urn)
                self.raw_blocks.add(raw_block)
                return _RawTarget(text, raw_block, path.attr, sub_name)
            return None
        block = canonical.urn
        sub = attr.sub(sub_name) if sub_name is not None else None
        if (sub_name is not None and sub is None) or attr.never_returned or (sub is not None and sub.never_returned):
            return None  # unknown, or accepted and never kept (``password``)
        if vfilter is not None:
            if not (attr.multi_valued and attr.type == "complex"):
                raise InvalidPath(f"{text!r}: {attr.name} is not a multi-valued complex "
                                  "attribute, so it cannot take a value filter")
            canonical_top = AttrPath(attr.name, urn=block)
            try:
                vfilter = canonical_filter(ValuePath(canonical_top, vfilter), self.rtype)
            except UnknownAttribute:
                return None
            assert isinstance(vfilter, ValuePath)
            vfilter = vfilter.filter
        return _Target(text, block, attr, sub, vfilter)

    def _writable(self, target: _Target, explicit: bool) -> bool:
        """RFC 7644 §3.5.2: a client MUST NOT modify a readOnly attribute (``mutability``)."""
        for attr in (target.attr, target.sub):
            if attr is not None and attr.mutability.lower() == "readonly":
                if explicit:
                    raise Mutability(f"{target.label} is read-only and cannot be modified "
                                     "(RFC 7644 §3.5.2)")
                return False
        return True

    def _holder(self, block: str | None) -> dict[str, Any]:
        """The object holding the attributes of ``block``: the resource or an extension block."""
        return self.res if block is None else object_at(self.res, block)

    # --- writes -----------------------------------------------------------------------------

    def _write_complex(self, holder: dict[str, Any], target: _Target, value: Any) -> None:
        attr = target.attr
        new = self._coerce_complex(attr, value, target.label)
        is_reference = attr.sub("value") is not None
        if new is None or (is_reference and "value" in new and new["value"] is None):
            self._unassign(holder, attr, target.label)
            return
        old = holder.get(attr.name)
        old = old if isinstance(old, dict) else {}
        retarget = is_reference and new.get("value") is not None and new["value"] != old.get("value")
        merged = {} if retarget else dict(old)
        for key, item in new.items():
            if item is None:
                merged.pop(key, None)
            else:
                merged[key] = item
        self._store(holder, attr, merged, target.label)

    def _write_sub(self, holder: dict[str, Any], target: _Target, value: Any) -> None:
        assert target.sub is not None
        obj = _as_dict(holder.get(target.attr.name))
        new = self._coerce(target.sub, value, target.label)
        self._set_subs(target.attr, obj, {target.sub.name: new}, target.label)
        self._store(holder, target.attr, {} if new is None and is_vacant(target.attr, obj) else obj, target.label)

    def _write_multi(self, op: str, holder: dict[str, Any], target: _Target, value: Any) -> None:
        attr = target.attr
        new = self._coerce(attr, value, target.label) or []
        if op == "replace":
            elements, touched = new, new
        else:
            elements = self._elements(holder, attr)
            index = ValueIndex(elements)
            touched = [self._merge_into(attr, index, element, target.label) for element in new]
        fix_primary(elements, touched)
        self._store(holder, attr, elements, target.label)

    def _write_elements(self, holder: dict[str, Any], target: _Target, value: Any) -> None:
        """Write through ``attr[filter]``, ``attr[filter].sub`` or ``attr.sub`` (all elements)."""
        attr, sub = target.attr, target.sub
        elements = self._elements(holder, attr)
        hits = [e for e in elements if self._selects(target, e)]
        if sub is not None:
            patch: dict[str, Any] | None = {sub.name: self._coerce(sub, value, target.label)}
        else:
            if isinstance(value, list) and len(value) == 1:
                value = value[0]  # one element given as an array
            patch = self._coerce_complex(attr, value, target.label)
            if patch is not None and "value" in patch and patch["value"] is None:
                patch = None
        if patch is None:  # a null update of whole elements removes them
            self._store(holder, attr, [e for e in elements if not _among(e, hits)], target.label)
            return
        if not hits and any(item is not None for item in patch.values()):
            seed = self._seed(target)
            if seed is None:
                raise NoTarget(f"{target.label} matches no value, and its filter is not a "
                               "plain eq comparison that could describe a new one "
                               "(RFC 7644 §3.5.2.3)")
            elements.append(seed)
            hits = [seed]
        for hit in hits:
            self._set_subs(attr, hit, patch, target.label)
        fix_primary(elements, hits)
        self._store_elements(holder, attr, elements, target.label, prune=hits)

    def _merge_into(self, attr: Attribute, index: ValueIndex, new: Any, label: str) -> Any:
        """Add ``new`` to the indexed elements unless present; an element with its value+type is
        merged. Linear in the number of values added (the elements are indexed once per op)."""
        candidates = index.candidates(new)
        for element in candidates:
            if element == new:
                return element
        if isinstance(new, dict) and "value" in new:
            for element in candidates:
                if isinstance(element, dict) and same_value(element, new):
                    self._set_subs(attr, element, new, label)
                    return element
        index.append(new)
        return new

    def _seed(self, target: _Target) -> dict[str, Any] | None:
        """The element a failed ``eq``/``and`` match describes (``{}`` for ``attr.sub``)."""
        if target.vfilter is None:
            return {}
        pairs = eq_pairs(target.vfilter)
        if pairs is None:
            return None
        seed: dict[str, Any] = {}
        for name, raw in pairs.items():
            sub = target.attr.sub(name)
            value = coerce_scalar(sub, raw, target.label) if sub is not None else None
            if value is None:
                return None
            seed[name] = value
        return seed

    def _selects(self, target: _Target, element: Any) -> bool:
        if not isinstance(element, dict):
            return False
        if target.vfilter is None:
            return True

        def case_exact(path: AttrPath) -> bool:  # the filter's paths name sub-attributes of target.attr
            return self.rtype.case_exact(AttrPath(target.attr.name, path.sub_attr or path.attr, target.block))

        return matches(target.vfilter, element, case_exact=case_exact)

    def _coerce(self, attr: Attribute, value: Any, label: str) -> Any:
        return coerce(attr, value, label)

    def _coerce_complex(self, attr: Attribute, value: Any, label: str) -> dict[str, Any] | None:
        return coerce_complex(attr, value, label)

    # --- storing ----------------------------------------------------------------------------

    def _set_subs(self, attr: Attribute, element: dict[str, Any], patch: Mapping[str, Any], label: str) -> None:
        """Set (or, for ``None``, remove) sub-attributes of one complex value, honouring immutability."""
        for key, item in patch.items():
            sub = attr.sub(key)
            if sub is not None:
                check_immutable(sub, element.get(key), item, label)
            if item is None:
                element.pop(key, None)
            else:
                element[key] = item

    def _store_elements(self, holder: dict[str, Any], attr: Attribute, elements: list[Any], label: str,
                        *, prune: Sequence[Any] = ()) -> None:
        """Store ``elements``, dropping those in ``prune`` that a removal left without data."""
        kept = [e for e in elements if not (_among(e, prune) and isinstance(e, dict) and is_vacant(attr, e))]
        self._store(holder, attr, kept, label)

    def _bounded(self, label: str, value: Any) -> None:
        if isinstance(value, list) and len(value) > self.max_values:
            raise OverLimit(f"{label} would hold {len(value)} values; at most {self.max_values} are stored.")

    def _store(self, holder: dict[str, Any], attr: Attribute, value: list[Any] | dict[str, Any], label: str) -> None:
        self._bounded(label, value)
        if value:
            self._assign(holder, attr, value, label)
        else:
            self._unassign(holder, attr, label)

    def _assign(self, holder: dict[str, Any], attr: Attribute, value: Any, label: str) -> None:
        if value is None:
            self._unassign(holder, attr, label)
            return
        check_immutable(attr, holder.get(attr.name), value, label)
        holder[attr.name] = value

    def _unassign(self, holder: dict[str, Any], attr: Attribute, label: str) -> None:
        """RFC 7644 §3.5.2.2: a required attribute cannot become unassigned (``mutability``)."""
        if attr.required:
            raise Mutability(f"{label} is required and cannot be removed or emptied "
                             "(RFC 7644 §3.5.2.2)")
        if attr.name in holder:
            check_immutable(attr, holder[attr.name], None, label)
            del holder[attr.name]

    def _elements(self, holder: Mapping[str, Any], attr: Attribute) -> list[Any]:
        current = holder.get(attr.name)
        if current is None:
            return []
        return list(current) if isinstance(current, list) else [current]


# --- helpers ----------------------------------------------------------------------------------


def _as_dict(value: Any) -> dict[str, Any]:
    """A shallow copy of ``value`` if it is an object, else an empty dict."""
    return dict(value) if isinstance(value, dict) else {}


def _among(element: Any, group: Sequence[Any]) -> bool:
    return any(element is member for member in group)
