"""``/Users`` endpoints (RFC 7644 §3.3–§3.6): HTTP in, one service call, the answer out."""

from __future__ import annotations

from gateway.handlers.base import ScimHandler


class UsersHandler(ScimHandler):
    """``GET /Users`` (list/filter, RFC 7644 §3.4.2) and ``POST /Users`` (create, §3.3)."""

    operations = {"GET": "search"}

    async def get(self, location: str) -> None:
        self.answer(await self.service.list_users(self.tenant, self.query_params()))

    async def post(self, location: str) -> None:
        self.answer(await self.service.create_user(self.tenant, self.json_body(), self.request_id,
                                                   self.query_params()))


class UserSearchHandler(ScimHandler):
    """``POST /Users/.search`` and ``POST /.search`` at the Tenant URL (RFC 7644 §3.4.3)."""

    operations = {"POST": "search"}

    async def post(self, location: str) -> None:
        self.answer(await self.service.search_users(self.tenant, self.json_body()))


class UserHandler(ScimHandler):
    """``/Users/{id}``: GET (§3.4.1), PUT (§3.5.1), PATCH (§3.5.2), DELETE (§3.6)."""

    user_in_path = True

    async def get(self, location: str, id: str) -> None:
        self.answer(await self.service.get_user(self.tenant, id, self.query_params(), self.header("If-None-Match"),
                                                self.header("If-Match")))

    async def put(self, location: str, id: str) -> None:
        self.answer(await self.service.replace_user(self.tenant, id, self.json_body(), self.header("If-Match"),
                                                    self.request_id, self.query_params(), self.header("If-None-Match")))

    async def patch(self, location: str, id: str) -> None:
        self.answer(await self.service.patch_user(self.tenant, id, self.json_body(), self.header("If-Match"),
                                                  self.request_id, self.query_params(), self.header("If-None-Match")))

    async def delete(self, location: str, id: str) -> None:
        self.answer(await self.service.delete_user(self.tenant, id, self.header("If-Match"), self.request_id,
                                                   self.header("If-None-Match")))
