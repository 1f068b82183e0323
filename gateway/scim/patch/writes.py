"""How one PATCH operation changes the attribute its path names (RFC 7644 §3.5.2.1–3): a
single-valued value, a complex value's sub-attributes, a multi-valued list, or the elements a
value path selects; with the mutability rules (RFC 7643 §2.2) and the bound on values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.query import AttrPath
from adapters.schema import Attribute, ResourceType
from gateway.scim.errors import Mutability, NoTarget, OverLimit
from adapters.filter_eval import matches
from gateway.scim.patch.coercion import coerce, coerce_complex, coerce_scalar
from gateway.scim.patch.multi_valued import ValueIndex, eq_pairs, fix_primary, is_vacant, same_value
from gateway.scim.patch.targets import Target

__all__ = ["AttributeWriter"]


class AttributeWriter:
    """Writes and removals on ``holder``, the resource or the extension block holding a target's
    attribute; a multi-valued attribute never holds more than ``max_values`` values."""

    def __init__(self, rtype: ResourceType, max_values: int) -> None:
        self.rtype = rtype
        self.max_values = max_values

    def write(self, op: str, holder: dict[str, Any], target: Target, value: Any) -> None:
        """``add`` or ``replace`` ``value`` at ``target``."""
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

    def remove(self, holder: dict[str, Any], target: Target, value: Any) -> None:
        """RFC 7644 §3.5.2.2; ``value`` (if not ``None``) limits a multi-valued removal to those values."""
        attr, sub = target.attr, target.sub
        if target.vfilter is not None or (sub is not None and attr.multi_valued):
            elements = _elements(holder, attr)
            hits = [e for e in elements if self._selects(target, e)]
            if not hits:
                return  # RFC 7644 §3.5.2.2 removes the matching values; no match, nothing to do
            if sub is None:
                elements = [e for e in elements if not _among(e, hits)]
            else:
                for hit in hits:
                    _set_subs(attr, hit, {sub.name: None}, target.label)
            self._store_elements(holder, attr, elements, target.label, prune=hits)
        elif sub is not None:
            obj = _as_dict(holder.get(attr.name))
            if sub.name in obj:
                _set_subs(attr, obj, {sub.name: None}, target.label)
                self._store(holder, attr, {} if is_vacant(attr, obj) else obj, target.label)
        elif attr.multi_valued and value is not None:
            # Note: Entra ID (without aadOptscim062020) removes group members with
            # path "members" plus a value array: remove only the listed values, never all.
            doomed = coerce(attr, value, target.label) or []
            kept = [e for e in _elements(holder, attr) if not any(same_value(e, d) for d in doomed)]
            self._store(holder, attr, kept, target.label)
        else:
            _unassign(holder, attr, target.label)

    def bounded(self, label: str, value: Any) -> None:
        """Raise :class:`~gateway.scim.errors.OverLimit` for a list of more than ``max_values``."""
        if isinstance(value, list) and len(value) > self.max_values:
            raise OverLimit(f"{label} would hold {len(value)} values; at most {self.max_values} are stored.")

    # --- writes -----------------------------------------------------------------------------

    def _write_complex(self, holder: dict[str, Any], target: Target, value: Any) -> None:
        attr = target.attr
        new = coerce_complex(attr, value, target.label)
        is_reference = attr.sub("value") is not None
        if new is None or (is_reference and "value" in new and new["value"] is None):
            _unassign(holder, attr, target.label)
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

    def _write_sub(self, holder: dict[str, Any], target: Target, value: Any) -> None:
        assert target.sub is not None
        obj = _as_dict(holder.get(target.attr.name))
        new = coerce(target.sub, value, target.label)
        if target.sub.name == "value" and new is not None and new != obj.get("value"):
            obj = {}  # another reference (manager.value): the old one's $ref and displayName go with it
        _set_subs(target.attr, obj, {target.sub.name: new}, target.label)
        self._store(holder, target.attr, {} if new is None and is_vacant(target.attr, obj) else obj, target.label)

    def _write_multi(self, op: str, holder: dict[str, Any], target: Target, value: Any) -> None:
        attr = target.attr
        new = coerce(attr, value, target.label) or []
        if op == "replace":
            elements, touched = new, new
        else:
            elements = _elements(holder, attr)
            index = ValueIndex(elements)
            touched = [_merge_into(attr, index, element, target.label) for element in new]
        fix_primary(elements, touched)
        self._store(holder, attr, elements, target.label)

    def _write_elements(self, holder: dict[str, Any], target: Target, value: Any) -> None:
        """Write through ``attr[filter]``, ``attr[filter].sub`` or ``attr.sub`` (all elements)."""
        attr, sub = target.attr, target.sub
        elements = _elements(holder, attr)
        hits = [e for e in elements if self._selects(target, e)]
        if sub is not None:
            patch: dict[str, Any] | None = {sub.name: coerce(sub, value, target.label)}
        else:
            if isinstance(value, list) and len(value) == 1:
                value = value[0]  # one element given as an array
            patch = coerce_complex(attr, value, target.label)
            if patch is not None and "value" in patch and patch["value"] is None:
                patch = None
        if patch is None:  # a null update of whole elements removes them
            self._store(holder, attr, [e for e in elements if not _among(e, hits)], target.label)
            return
        if not hits and any(item is not None for item in patch.values()):
            seed = _seed(target)
            if seed is None:
                raise NoTarget(f"{target.label} matches no value, and its filter is not a "
                               "plain eq comparison that could describe a new one "
                               "(RFC 7644 §3.5.2.3)")
            elements.append(seed)
            hits = [seed]
        for hit in hits:
            _set_subs(attr, hit, patch, target.label)
        fix_primary(elements, hits)
        self._store_elements(holder, attr, elements, target.label, prune=hits)

    def _selects(self, target: Target, element: Any) -> bool:
        if not isinstance(element, dict):
            return False
        if target.vfilter is None:
            return True

        def absolute(path: AttrPath) -> AttrPath:  # the filter's paths name sub-attributes of target.attr
            return AttrPath(target.attr.name, path.sub_attr or path.attr, target.block)

        return matches(target.vfilter, element, case_exact=lambda path: self.rtype.case_exact(absolute(path)),
                       date_time=lambda path: self.rtype.date_time(absolute(path)))

    # --- storing ----------------------------------------------------------------------------

    def _store_elements(self, holder: dict[str, Any], attr: Attribute, elements: list[Any], label: str,
                        *, prune: Sequence[Any] = ()) -> None:
        """Store ``elements``, dropping those in ``prune`` that a removal left without data."""
        kept = [e for e in elements if not (_among(e, prune) and isinstance(e, dict) and is_vacant(attr, e))]
        self._store(holder, attr, kept, label)

    def _store(self, holder: dict[str, Any], attr: Attribute, value: list[Any] | dict[str, Any], label: str) -> None:
        self.bounded(label, value)
        if value:
            self._assign(holder, attr, value, label)
        else:
            _unassign(holder, attr, label)

    def _assign(self, holder: dict[str, Any], attr: Attribute, value: Any, label: str) -> None:
        if value is None:
            _unassign(holder, attr, label)
            return
        _check_immutable(attr, holder.get(attr.name), value, label)
        holder[attr.name] = value


def _unassign(holder: dict[str, Any], attr: Attribute, label: str) -> None:
    """RFC 7644 §3.5.2.2: a required attribute cannot become unassigned (``mutability``)."""
    if attr.required:
        raise Mutability(f"{label} is required and cannot be removed or emptied "
                         "(RFC 7644 §3.5.2.2)")
    if attr.name in holder:
        _check_immutable(attr, holder[attr.name], None, label)
        del holder[attr.name]


def _check_immutable(attr: Attribute, old: Any, new: Any, label: str) -> None:
    """RFC 7644 §3.5.2: an immutable attribute may get a first value, never a different one."""
    if attr.mutability.lower() == "immutable" and old not in (None, "", [], {}) and old != new:
        raise Mutability(f"{label}: {attr.name} is immutable and already has a value "
                         "(RFC 7643 §2.2)")


def _set_subs(attr: Attribute, element: dict[str, Any], patch: Mapping[str, Any], label: str) -> None:
    """Set (or, for ``None``, remove) sub-attributes of one complex value, honouring immutability."""
    for key, item in patch.items():
        sub = attr.sub(key)
        if sub is not None:
            _check_immutable(sub, element.get(key), item, label)
        if item is None:
            element.pop(key, None)
        else:
            element[key] = item


def _merge_into(attr: Attribute, index: ValueIndex, new: Any, label: str) -> Any:
    """Add ``new`` to the indexed elements unless present; an element with its value+type is
    merged. Linear in the number of values added (the elements are indexed once per op)."""
    candidates = index.candidates(new)
    for element in candidates:
        if element == new:
            return element
    if isinstance(new, dict) and "value" in new:
        for element in candidates:
            if isinstance(element, dict) and same_value(element, new):
                _set_subs(attr, element, new, label)
                return element
    index.append(new)
    return new


def _seed(target: Target) -> dict[str, Any] | None:
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


def _elements(holder: Mapping[str, Any], attr: Attribute) -> list[Any]:
    current = holder.get(attr.name)
    if current is None:
        return []
    return list(current) if isinstance(current, list) else [current]


def _as_dict(value: Any) -> dict[str, Any]:
    """A shallow copy of ``value`` if it is an object, else an empty dict."""
    return dict(value) if isinstance(value, dict) else {}


def _among(element: Any, group: Sequence[Any]) -> bool:
    return any(element is member for member in group)
