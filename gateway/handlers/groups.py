"""``/Groups``: Vizmo does not provision groups, but Entra ID probes them (see
:data:`gateway.service.DISABLE_GROUPS`): look-ups answer an empty list, writes 501."""

from __future__ import annotations

from gateway.errors import ProtocolError
from gateway.handlers.base import ScimHandler

#: A group write: a ``501`` telling the admin to switch group provisioning off (not a ``405``).
_WRITES = frozenset(("POST", "PUT", "PATCH", "DELETE"))


class GroupSearchHandler(ScimHandler):
    """``POST /Groups/.search`` (RFC 7644 §3.4.3): a look-up, answered like ``GET /Groups``."""

    operations = {"POST": "search"}

    async def post(self, location: str) -> None:
        self.answer(self.service.search_groups(self.json_body()))


class GroupsHandler(ScimHandler):
    """``/Groups`` and ``/Groups/{id}``: GET (and HEAD) are served, so ``Allow`` names them alone
    (it offered the four writes, each a ``501``: a docs review); a write is that ``501``."""

    operations = {"GET": "search"}

    async def get(self, location: str, id: str | None = None) -> None:
        self.answer(self.service.get_group(id) if id is not None else self.service.list_groups(self.query_params()))

    def method_refusal(self) -> ProtocolError:
        return self.service.group_writes_refused() if self.request.method in _WRITES else super().method_refusal()
