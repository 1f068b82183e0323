"""How much work one request may ask for: PATCH operations, values of a multi-valued attribute, and
the stored size of one resource.

One tenant must not stall the others: every request runs on a worker's event loop, so its cost is
bounded here, far above what Entra ID and Okta send (a PATCH of a few operations, users of a few
kilobytes with a handful of emails and phone numbers), and checked before any work that grows with
the input (a PATCH's values are counted before they are applied). A request past a limit writes
nothing: too many PATCH operations or values is a 413 (as RFC 7644 §3.7.4 answers a bulk request over
``maxOperations``), anything else a ``400 invalidValue``. bench/limits.py measures the worst request
these limits allow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.scim.errors import OverLimit, TooLarge

#: Defaults (README's limits table; ``[limits]`` in the configuration file).
MAX_PATCH_OPERATIONS = 1000
MAX_PATCH_VALUES = 1000
MAX_VALUES = 100
MAX_RESOURCE_BYTES = 16 * 1024


@dataclass(frozen=True)
class Limits:
    """The bounds of one request's work."""

    max_patch_operations: int = MAX_PATCH_OPERATIONS
    #: Array elements in all of a PATCH's operation values together (each costs a coercion and a
    #: merge: 1 MiB of them held the loop for 80 ms, bench/limits.py).
    max_patch_values: int = MAX_PATCH_VALUES
    #: Values of any multi-valued attribute (``emails``, ``phoneNumbers``, ...) of a stored resource,
    #: and elements of any array in a PATCH value.
    max_values: int = MAX_VALUES
    #: The resource's compact UTF-8 JSON, as the adapter receives it, without ``id`` and ``meta``
    #: (which the client does not write: a PATCH measured them, a POST or PUT did not).
    max_resource_bytes: int = MAX_RESOURCE_BYTES

    def check_operations(self, operations: list[Any]) -> None:
        """Before a PATCH is applied: the number of operations, and every array in their values."""
        if len(operations) > self.max_patch_operations:
            raise TooLarge(f"The PATCH has {len(operations)} operations; at most {self.max_patch_operations} "
                           "are accepted in one request.")
        total = 0
        for index, operation in enumerate(operations):
            if isinstance(operation, Mapping):
                longest, count = _arrays(operation.get("value"))
                if longest > self.max_values:
                    raise OverLimit(f"Operations[{index}] has an array of {longest} values; at most "
                                    f"{self.max_values} are accepted.")
                total += count
        if total > self.max_patch_values:
            raise TooLarge(f"The PATCH's operations hold {total} values in arrays; at most "
                           f"{self.max_patch_values} are accepted in one request.")

    def check_resource(self, resource: Mapping[str, Any], before: Mapping[str, Any] | None = None) -> None:
        """Before a resource is written: every multi-valued attribute and the size of the whole.

        The portal can store a column past the size, and that must not block Entra ID's PATCH of
        ``active`` (the leaver would stay enabled): a PATCH (``before``: the stored resource) of a
        resource already over it may write it when it grows it by at most
        :data:`OVER_LIMIT_GROWTH` bytes (``true`` to ``false`` is one), up to
        :data:`OVER_LIMIT_CAP` times the size, so repeated PATCHes cannot grow it without end."""
        _check_arrays(resource, "", self.max_values)
        size = _json_size(resource)
        if size <= self.max_resource_bytes:
            return
        if before is not None and size <= OVER_LIMIT_CAP * self.max_resource_bytes:
            grown = size - _json_size(before)
            if grown <= OVER_LIMIT_GROWTH:
                return
        raise OverLimit(f"The resource would be {size} bytes of JSON; at most {self.max_resource_bytes} "
                        "are stored for one resource.")


#: How much a PATCH may grow a resource the portal made larger than the size limit, and how
#: many times the limit such a resource may reach (see :meth:`Limits.check_resource`).
OVER_LIMIT_GROWTH = 64
OVER_LIMIT_CAP = 4


def _json_size(resource: Mapping[str, Any]) -> int:
    written = {key: value for key, value in resource.items() if key not in _SERVER_SET}
    return len(json.dumps(written, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


#: What the service provider sets (RFC 7643 §3.1), left out of a resource's measured size.
_SERVER_SET = frozenset({"id", "meta"})


def _check_arrays(node: Mapping[str, Any], prefix: str, limit: int) -> None:
    for key, value in node.items():
        _check_value(value, f"{prefix}{key}", limit, ":" if key.startswith("urn:") else ".")


def _check_value(value: Any, name: str, limit: int, separator: str) -> None:
    """Every array at any depth, in arrays too (an extension's list of lists or of objects holding
    lists: a POST or PUT of such values was not counted, a PATCH's were)."""
    if isinstance(value, list):
        if len(value) > limit:
            raise OverLimit(f"{name} has {len(value)} values; at most {limit} are stored.")
        for item in value:
            _check_value(item, name, limit, ".")
    elif isinstance(value, Mapping):
        _check_arrays(value, name + separator, limit)


def _arrays(value: Any) -> tuple[int, int]:
    """The length of the longest array anywhere inside ``value``, and the elements of all of them."""
    longest = total = 0
    if isinstance(value, list):
        longest, total = len(value), len(value)
        items: Any = value
    elif isinstance(value, Mapping):
        items = value.values()
    else:
        return 0, 0
    for item in items:
        inner_longest, inner_total = _arrays(item)
        longest, total = max(longest, inner_longest), total + inner_total
    return longest, total
