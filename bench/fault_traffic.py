"""The clients of ``bench/fault.py``: Entra ID-shaped writes, each client owning its own users,
so the final state every acknowledged write implies is known.

A client creates users (``POST /Users``), changes them with both PATCH shapes Entra sends (the
path-less ``replace`` of ``aadOptscim062020`` and one ``Replace`` per path with "True"/"False"
strings; Microsoft Learn, "Known issues and resolutions with SCIM 2.0 protocol compliance"),
replaces them (``PUT``) and deletes some. Every attempt is recorded with its status (None: the
connection failed) and ``X-Request-Id``. A connection error, a 5xx or a 429 is retried with a new
request carrying the same change, as Entra retries; a retried create answered ``409`` (the lost
attempt had committed) is confirmed by a ``userName eq`` look-up, a retried delete answered ``404``
counts as done. Changes are replace-only, so a retried change leaves the same state.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
#: The Retry-After longest honoured (Entra waits longer; the run is bounded in time).
MAX_RETRY_WAIT = 1.0
CONNECTION_RETRY_WAIT = 0.1
#: Operation names as the activity log records them (issue 15 §1).
OPERATIONS = {"POST": "create", "PATCH": "patch", "PUT": "replace", "DELETE": "delete"}


@dataclass
class Attempt:
    """One HTTP request and what came back (``status`` None: no answer, ``error`` says why)."""

    client: int
    location: int
    method: str
    user: str
    sent: float
    done: float = 0.0
    status: int | None = None
    request_id: str | None = None
    retry_after: str | None = None
    error: str | None = None
    change: int = 0                  # the client's change this attempt carries (retries share it)
    committed: bool | None = None    # no answer, but its write is in the directory (set by the check)

    @property
    def is_write(self) -> bool:
        return self.method in OPERATIONS

    @property
    def acknowledged(self) -> bool:
        return self.is_write and self.status is not None and 200 <= self.status < 300


@dataclass
class User:
    """One user's life as its client saw it. ``expected``: the attribute values of the last
    acknowledged (or confirmed) write; ``gone``: the last was a delete; ``pending``: the values
    of a change still unanswered when the run ended (the directory may hold either)."""

    user_name: str
    location: int
    scim_id: str | None = None
    expected: dict[str, Any] | None = None
    gone: bool = False
    pending: dict[str, Any] | None = None
    pending_delete: bool = False
    confirmed_by_lookup: bool = False
    deleted_by_404: bool = False


@dataclass
class Shared:
    """What all clients append to (lists are appended under the GIL; read after they stop)."""

    port: int
    token_of: dict[int, str]
    stop_at: float            # no new change starts after this (monotonic)
    give_up_at: float         # unanswered changes stop being retried after this
    attempts: list[Attempt] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    surprises: list[str] = field(default_factory=list)


def _values(user_name: str, stamp: str, active: bool, external_id: str) -> dict[str, Any]:
    return {"userName": user_name, "externalId": external_id, "givenName": "Fault", "familyName": f"Family {stamp}",
            "displayName": f"Display {stamp}", "title": f"Title {stamp}", "active": active}


def _resource(v: dict[str, Any]) -> dict[str, Any]:
    """A full User as Entra sends it on create and replace (Microsoft's "Create User" example)."""
    return {"schemas": [USER_URN], "externalId": v["externalId"], "userName": v["userName"], "active": v["active"],
            "displayName": v["displayName"], "title": v["title"],
            "emails": [{"primary": True, "type": "work", "value": v["userName"]}],
            "name": {"givenName": v["givenName"], "familyName": v["familyName"],
                     "formatted": f"{v['givenName']} {v['familyName']}"},
            "meta": {"resourceType": "User"}, "roles": []}


def _patch_pathless(v: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_URN], "Operations": [
        {"op": "replace", "value": {"displayName": v["displayName"], "title": v["title"],
                                    "name.familyName": v["familyName"]}},
        {"op": "replace", "path": "active", "value": v["active"]}]}


def _patch_paths(v: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_URN], "Operations": [
        {"op": "Replace", "path": "title", "value": v["title"]},
        {"op": "Replace", "path": "displayName", "value": v["displayName"]},
        {"op": "Replace", "path": "name.familyName", "value": v["familyName"]},
        {"op": "Replace", "path": "active", "value": "True" if v["active"] else "False"}]}


class Client:
    """One Entra-like client of one location, on one keep-alive connection at a time."""

    def __init__(self, number: int, location: int, shared: Shared, seed: int) -> None:
        self.number, self.location, self.shared = number, location, shared
        self.rng = random.Random(seed)
        self.base = f"/scim/v2/locations/{location}/Users"
        self.headers = {"Authorization": f"Bearer {shared.token_of[location]}", "Accept": "application/scim+json",
                        "Content-Type": "application/scim+json; charset=utf-8"}
        self.conn: http.client.HTTPConnection | None = None
        self.live: list[User] = []
        self.counter = 0

    # -- one request ------------------------------------------------------------------------
    def request(self, method: str, path: str, user: str, body: Any = None) -> tuple[Attempt, Any]:
        attempt = Attempt(self.number, self.location, method, user, time.monotonic(), change=self.counter)
        self.shared.attempts.append(attempt)
        payload = None if body is None else json.dumps(body).encode()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.shared.port, timeout=15)
            self.conn.request(method, path, payload, self.headers)
            response = self.conn.getresponse()
            data = response.read()
            attempt.status, attempt.request_id = response.status, response.getheader("X-Request-Id")
            attempt.retry_after = response.getheader("Retry-After")
            if response.getheader("Connection", "").lower() == "close":
                self._drop()
        except (OSError, http.client.HTTPException) as exc:
            attempt.error = type(exc).__name__
            self._drop()
            data = b""
        attempt.done = time.monotonic()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        return attempt, parsed

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _wait(self, attempt: Attempt) -> bool:
        """Sleep before a retry; False when the run is over and the change is given up."""
        if time.monotonic() >= self.shared.give_up_at:
            return False
        delay = CONNECTION_RETRY_WAIT
        if attempt.retry_after is not None:
            try:
                delay = min(MAX_RETRY_WAIT, max(CONNECTION_RETRY_WAIT, float(attempt.retry_after)))
            except ValueError:
                pass
        time.sleep(delay)
        return True

    @staticmethod
    def _retryable(attempt: Attempt) -> bool:
        return attempt.status is None or attempt.status >= 500 or attempt.status == 429

    # -- the changes ------------------------------------------------------------------------
    def create(self) -> None:
        self.counter += 1
        name = f"fault.l{self.location}.c{self.number}.{self.counter}@contoso.example"
        user = User(name, self.location)
        self.shared.users.append(user)
        values = _values(name, "0", True, str(uuid.uuid4()))
        lost = False
        while True:
            attempt, body = self.request("POST", self.base, name, _resource(values))
            if attempt.status == 201 and isinstance(body, dict):
                user.scim_id, user.expected = str(body.get("id")), values
                self.live.append(user)
                return
            if attempt.status == 409 and lost and self._adopt(user, values):
                return
            if not self._retryable(attempt):
                self.shared.surprises.append(f"POST {name}: {attempt.status} (request {attempt.request_id})")
                return
            lost = True
            if not self._wait(attempt):
                user.pending = values
                return

    def _adopt(self, user: User, values: dict[str, Any]) -> bool:
        """A retried create refused as a duplicate: the lost attempt committed; find its id."""
        query = self.base + "?filter=" + quote('userName eq "' + user.user_name + '"')
        while True:
            attempt, body = self.request("GET", query, user.user_name)
            if attempt.status == 200 and isinstance(body, dict) and body.get("Resources"):
                user.scim_id, user.expected, user.confirmed_by_lookup = str(body["Resources"][0]["id"]), values, True
                self.live.append(user)
                return True
            if not self._retryable(attempt) or not self._wait(attempt):
                self.shared.surprises.append(f"GET after 409 for {user.user_name}: {attempt.status}")
                return False

    def change(self, user: User, kind: str) -> None:
        assert user.expected is not None and user.scim_id is not None
        self.counter += 1
        values = _values(user.user_name, f"{self.number}.{self.counter}", self.rng.random() < 0.75,
                         user.expected["externalId"])
        method, body = {"pathless": ("PATCH", _patch_pathless(values)), "paths": ("PATCH", _patch_paths(values)),
                        "put": ("PUT", _resource(values)), "delete": ("DELETE", None)}[kind]
        lost = False
        while True:
            attempt, _ = self.request(method, f"{self.base}/{user.scim_id}", user.user_name, body)
            if attempt.acknowledged:
                if kind == "delete":
                    user.gone = True
                    self.live.remove(user)
                else:
                    user.expected = values
                return
            if attempt.status == 404 and lost and kind == "delete":
                user.gone, user.deleted_by_404 = True, True
                self.live.remove(user)
                return
            if not self._retryable(attempt):
                self.shared.surprises.append(f"{method} {user.user_name}: {attempt.status} "
                                             f"(request {attempt.request_id})")
                return
            lost = True
            if not self._wait(attempt):
                user.pending, user.pending_delete = (None, True) if kind == "delete" else (values, False)
                return

    def run(self) -> None:
        """Changes back to back until ``stop_at``; the last one is retried until answered or ``give_up_at``."""
        try:
            while time.monotonic() < self.shared.stop_at:
                roll = self.rng.random()
                if len(self.live) < 3 or roll < 0.2:
                    self.create()
                else:
                    kind = ("pathless", "paths", "put", "delete")[min(3, int((roll - 0.2) / 0.2))]
                    self.change(self.rng.choice(self.live), kind)
        finally:
            self._drop()


def start_clients(shared: Shared, locations: list[int], per_location: int, seed: int) -> list[threading.Thread]:
    """``per_location`` client threads for each location, started."""
    threads = []
    for index, (location, n) in enumerate((loc, n) for loc in locations for n in range(per_location)):
        client = Client(index + 1, location, shared, seed * 1000 + index)
        thread = threading.Thread(target=client.run, name=f"client-{index + 1}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
