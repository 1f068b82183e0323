"""``/Groups``: Vizmo does not provision groups, but Entra ID probes them (see
:data:`gateway.service.DISABLE_GROUPS`): look-ups answer an empty list, writes 501."""

from __future__ import annotations

from typing import Any

from gateway.handlers.base import ScimHandler


class GroupSearchHandler(ScimHandler):
    """``POST /Groups/.search`` (RFC 7644 §3.4.3): a look-up, answered like ``GET /Groups``."""

    operations = {"POST": "search"}

    async def post(self, location: str) -> None:
        self.answer(self.service.search_groups(self.json_body()))


class GroupsHandler(ScimHandler):
    operations = {"GET": "search"}

    async def get(self, location: str, id: str | None = None) -> None:
        self.answer(self.service.get_group(id) if id is not None else self.service.list_groups(self.query_params()))

    def _write(self, *args: Any, **kwargs: Any) -> None:
        self.answer(self.service.write_group())

    post = put = patch = delete = _write  # type: ignore[assignment]
