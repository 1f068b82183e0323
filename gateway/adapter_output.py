"""What an adapter hands back, checked before it reaches a client (the adapter contract,
``adapters/base.py``; README, *Writing an adapter*).

A plugin that breaks the contract (a ``totalResults`` that is not a count, a page longer than
asked, the wrong user for an id, an ETag without quotes) would otherwise be answered ``200`` to
Entra ID or Okta, which then act on it. Each check is a few type tests on what the request
already holds (no schema validation of whole resources): a violation is
:class:`AdapterBroke`, answered ``500`` with the request id, and logged with what the adapter
returned, for its author.
"""

from __future__ import annotations

from typing import Any

from adapters.query import ListQuery, Page
from adapters.versions import is_entity_tag


class AdapterBroke(RuntimeError):
    """An adapter answered something its contract rules out (a bug in the adapter)."""


def checked_resource(operation: str, resource: Any, id: str | None = None) -> Any:
    """``resource`` when it is a resource with a string ``id`` (``id`` itself, when given) and,
    when it has one, a ``meta.version`` that is an entity tag."""
    if not isinstance(resource, dict) or not isinstance(resource.get("id"), str) or not resource["id"]:
        raise AdapterBroke(f"the adapter's {operation} returned {_shown(resource)}, not a resource with an id")
    if id is not None and resource["id"] != id:
        raise AdapterBroke(f"the adapter's {operation}({id[:80]!r}) returned the resource {resource['id'][:80]!r}")
    meta = resource.get("meta")
    if meta is not None and not isinstance(meta, dict):
        raise AdapterBroke(f"the adapter's {operation} returned meta {_shown(meta)}, not an object")
    version = meta.get("version") if meta is not None else None
    if version is not None and not is_entity_tag(version):
        raise AdapterBroke(f"the adapter's {operation} returned meta.version {_shown(version)}, not an entity tag "
                           '(RFC 9110 §8.8.3: "..." or W/"...")')
    return resource


def checked_page(page: Any, query: ListQuery) -> Page:
    """``page`` when it is a :class:`Page` of at most ``query.count`` resources and a
    ``total_results`` that counts at least those (RFC 7644 §3.4.2.4)."""
    if not isinstance(page, Page) or not isinstance(page.resources, list):
        raise AdapterBroke(f"the adapter's search returned {_shown(page)}, not a Page")
    total = page.total_results
    if not isinstance(total, int) or isinstance(total, bool) or total < len(page.resources):
        raise AdapterBroke(f"the adapter's search returned total_results {_shown(total)} with "
                           f"{len(page.resources)} resources")
    if len(page.resources) > query.count:
        raise AdapterBroke(f"the adapter's search returned {len(page.resources)} resources for count {query.count}")
    for resource in page.resources:  # as a get's answer is checked (search's let "3" through as a version)
        checked_resource("search", resource)
    return page


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
