"""The PATCH operations, applied in order to a private copy of the resource (RFC 7644 §3.5.2):
the checks of each operation, path-less values, whole schema blocks, and the ``schemas`` member
afterwards. The rules are listed in :mod:`gateway.scim.patch`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.json_copy import copy_json
from adapters.schema import ResourceType
from gateway.scim.errors import InvalidPath, InvalidSyntax, InvalidValue, NoTarget, OverLimit, ProtocolError
from gateway.scim.json_type import SHOWN_CHARS, json_type, shown_json
from gateway.scim.limits import MAX_VALUES
from gateway.scim.patch.targets import RawTarget, resolve_target, writable
from gateway.scim.patch.unknown_extensions import existing_key, object_at, raw_remove, raw_write
from gateway.scim.patch.writes import AttributeWriter

__all__ = ["apply_patch"]

_OPS = ("add", "replace", "remove")


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


class _Engine:
    """Applies operations one by one to a private deep copy of the resource."""

    def __init__(self, resource: Mapping[str, Any], rtype: ResourceType, max_values: int) -> None:
        self.rtype = rtype
        self.writer = AttributeWriter(rtype, max_values)
        self.res: dict[str, Any] = copy_json(dict(resource))
        self.raw_blocks: set[str] = set()
        for schema, _ in rtype.extensions:  # extension blocks are keyed by the schema's own URN
            for key in [k for k in self.res if isinstance(k, str) and k != schema.id
                        and k.lower() == schema.id.lower()]:
                self.res.setdefault(schema.id, self.res.pop(key))

    def apply(self, index: int, operation: Any) -> None:
        if not isinstance(operation, Mapping):
            raise InvalidSyntax(f"Operations[{index}] must be an object")
        fields = {str(key).lower(): value for key, value in operation.items()}
        op = fields.get("op")
        if not isinstance(op, str) or op.lower() not in _OPS:
            raise InvalidSyntax(f'Operations[{index}]: "op" must be "add", "replace" or '
                                f'"remove" (RFC 7644 §3.5.2), got {shown_json(op)}')
        op = op.lower()
        path = fields.get("path")
        if path is not None and not isinstance(path, str):
            raise InvalidPath(f'Operations[{index}]: "path" must be a string')
        path = (path or "").strip() or None
        try:
            if op == "remove":
                if path is None:
                    raise NoTarget('"remove" needs a "path" (RFC 7644 §3.5.2.2)')
                self.remove(path, fields.get("value"))
            elif "value" not in fields:
                raise InvalidSyntax(f'"{op}" needs a "value" member (RFC 7644 §3.5.2)')
            elif path is None:
                self.write_pathless(op, fields["value"])
            else:
                self.write(op, path, fields["value"], explicit=True)
        except OverLimit:
            raise
        except ProtocolError as exc:  # the same error, saying which operation failed
            where = f"{op} {path[:SHOWN_CHARS]}{'...' if len(path) > SHOWN_CHARS else ''}" if path else op
            raise type(exc)(f"Operations[{index}] ({where}): {exc.detail}") from None

    def write_pathless(self, op: str, value: Any) -> None:
        """Path-less add/replace: each key of ``value`` is a path (RFC 7644 §3.5.2.1, §3.5.2.3)."""
        if not isinstance(value, Mapping):
            raise InvalidValue('without "path", "value" must be an object mapping attribute '
                               f"names to values (RFC 7644 §3.5.2.1), not {json_type(value)}")
        for key, item in value.items():
            name = key.strip() if isinstance(key, str) else ""
            if name and name.lower() != "schemas":
                self.write(op, name, item, explicit=False)

    def write(self, op: str, text: str, value: Any, *, explicit: bool) -> None:
        if self._block_op(op, text, value, explicit=explicit):
            return
        target = resolve_target(text, self.rtype, explicit=explicit)
        if isinstance(target, RawTarget):
            block_key = self._raw_block(target.urn)
            raw_write(self.res, op, block_key, target.name, target.sub, value)
            block = self.res.get(block_key)
            if isinstance(block, dict):
                self.writer.bounded(target.label, block.get(existing_key(block, target.name)))
        elif target is not None and writable(target, explicit=explicit):
            self.writer.write(op, self._holder(target.block), target, value)

    def remove(self, text: str, value: Any) -> None:
        """RFC 7644 §3.5.2.2; ``value`` (if given) limits a multi-valued removal to those values."""
        if self._block_op("remove", text, None, explicit=True):
            return
        target = resolve_target(text, self.rtype, explicit=True)
        if isinstance(target, RawTarget):
            raw_remove(self.res, self._raw_block(target.urn), target.name, target.sub)
        elif target is not None:
            writable(target, explicit=True)
            self.writer.remove(self._holder(target.block), target, value)

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

    def _raw_block(self, urn: str) -> str:
        """The key of an unknown extension's block: the resource's own spelling of ``urn``; an
        emptied one is dropped at the end."""
        key = existing_key(self.res, urn)
        self.raw_blocks.add(key)
        return key

    def _holder(self, block: str | None) -> dict[str, Any]:
        """The object holding the attributes of ``block``: the resource or an extension block."""
        return self.res if block is None else object_at(self.res, block)
