"""``/Groups``: Vizmo does not provision groups, but Entra ID probes them.

Note: Entra ID's Test Connection and each provisioning cycle query ``/Groups`` with a filter
while the group mapping is on; anything but ``200`` with an empty ListResponse fails the test
or quarantines the job (entra-provisioning.md §2.1). Writes get a 501 that tells the admin
what to do.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import ScimError
from gateway.handlers.base import ScimHandler
from gateway.scim.listing import list_response, parse_list_request
from gateway.service import scim_errors

DISABLE_GROUPS = ("Vizmo does not provision groups. In the Entra ID enterprise application open "
                  "Provisioning > Mappings and set 'Provision Microsoft Entra ID Groups' to Enabled: No.")


class GroupsHandler(ScimHandler):
    """``GET /Groups`` answers an empty list (after checking the parameters); writes answer 501."""

    async def get(self, location: str, id: str | None = None) -> None:
        if id is not None:
            raise ScimError(404, f"Group {id[:200]} not found. {DISABLE_GROUPS}")
        with scim_errors():
            request = parse_list_request(
                self.query_params(),
                self.ctx.resource_types["Group"], max_results=self.ctx.config.max_results)
        self.write_scim(200, list_response([], 0, request.query.start_index))

    def _unsupported(self, *args: Any, **kwargs: Any) -> None:
        raise ScimError(501, DISABLE_GROUPS)

    post = put = patch = delete = _unsupported
