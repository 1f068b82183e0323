"""``/Users`` endpoints (RFC 7644 §3.3–§3.6): thin HTTP wrappers over :class:`ResourceService`."""

from __future__ import annotations

from gateway.handlers.base import ScimHandler
from gateway.scim.validation import validate_search_request
from gateway.service import scim_errors


class UsersHandler(ScimHandler):
    """``GET /Users`` (list/filter, RFC 7644 §3.4.2) and ``POST /Users`` (create, §3.3)."""

    async def get(self, location: str) -> None:
        body = await self.ctx.users.search(self.resource_adapter("User"), self.tenant_base_url,
                                           self.query_params())
        self.write_scim(200, body)

    async def post(self, location: str) -> None:
        created = await self.ctx.users.create(self.resource_adapter("User"), self.json_body(),
                                              self.tenant_base_url)
        self.set_header("Location", created["meta"]["location"])
        self.write_scim(201, created)


class UserSearchHandler(ScimHandler):
    """``POST /Users/.search`` (RFC 7644 §3.4.3)."""

    async def post(self, location: str) -> None:
        with scim_errors():
            params = validate_search_request(self.json_body())
        body = await self.ctx.users.search(self.resource_adapter("User"), self.tenant_base_url, params)
        self.write_scim(200, body)


class UserHandler(ScimHandler):
    """``/Users/{id}``: GET (§3.4.1), PUT (§3.5.1), PATCH (§3.5.2), DELETE (§3.6)."""

    def _if_match(self) -> str | None:
        return self.request.headers.get("If-Match")

    async def get(self, location: str, id: str) -> None:
        resource = await self.ctx.users.get(self.resource_adapter("User"), id, self.tenant_base_url,
                                            self.query_params())
        self.write_scim(200, resource)

    async def put(self, location: str, id: str) -> None:
        resource = await self.ctx.users.replace(self.resource_adapter("User"), id, self.json_body(),
                                                self.tenant_base_url, self._if_match())
        self.write_scim(200, resource)

    async def patch(self, location: str, id: str) -> None:
        resource = await self.ctx.users.patch(self.resource_adapter("User"), id, self.json_body(),
                                              self.tenant_base_url, self._if_match())
        self.write_scim(200, resource)

    async def delete(self, location: str, id: str) -> None:
        await self.ctx.users.delete(self.resource_adapter("User"), id, self._if_match())
        self.write_scim(204, None)
