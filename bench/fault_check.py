"""The checks of ``bench/fault.py`` against the PostgreSQL directory itself (not through the gateway).

Every acknowledged write must be reflected: each user's last acknowledged values are in
``employees``/``scim_users`` (``userName`` → ``email``, ``name.givenName``/``familyName`` →
``first_name``/``last_name``, ``displayName`` → ``display_name``, ``title`` → ``designation``,
``active`` → ``status``, ``externalId`` → ``scim_users.external_id``), or the employee is
``removed`` after an acknowledged delete. Every acknowledged write has exactly one entry in
``scim_activity`` with its ``X-Request-Id``, operation, location and status (issue 15 §1: the entry
is committed with the write). Entries of unacknowledged attempts are counted, not judged (0 or 1
each), except that no request id may have two entries.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.fault_traffic import OPERATIONS, Attempt, User

_USERS_SQL = ("SELECT s.scim_id, s.external_id, e.location_id, e.email, e.first_name, e.last_name, e.display_name, "
              "e.designation, e.status FROM scim_users s JOIN employees e ON e.id = s.employee_id")
_ACTIVITY_SQL = "SELECT request_id, location_id, operation, status, resource_id, user_name FROM scim_activity"


@dataclass
class CheckResult:
    users_checked: int = 0
    present_as_acknowledged: int = 0
    gone_as_acknowledged: int = 0
    ambiguous_at_end: int = 0           # a change unanswered when the run ended: either state accepted
    never_created: int = 0               # creates never acknowledged nor confirmed (not in the directory)
    entries_total: int = 0
    acknowledged_writes: int = 0
    acknowledged_with_one_entry: int = 0
    refused_with_entry: Counter[int] = field(default_factory=Counter)  # entries per refused answer: {0: n, 1: m}
    lost_answer_entries: int = 0         # entries (2xx) whose request id no client ever saw
    noop_retries: int = 0                # acknowledged retries of a change an earlier attempt had committed
    lost_answer_write_attempts: int = 0  # write attempts that got no answer at all
    violations: list[str] = field(default_factory=list)


async def _rows(dsn: str) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(_USERS_SQL), await conn.fetch(_ACTIVITY_SQL)
    finally:
        await conn.close()


def _state_of(row: asyncpg.Record) -> dict[str, Any]:
    return {"userName": row["email"], "externalId": row["external_id"], "givenName": row["first_name"],
            "familyName": row["last_name"], "displayName": row["display_name"], "title": row["designation"],
            "active": row["status"] == "active"}


def _check_user(user: User, row: asyncpg.Record | None, result: CheckResult) -> None:
    if user.scim_id is None:  # the create was never acknowledged nor confirmed
        result.never_created += 1
        return
    result.users_checked += 1
    if row is None or row["location_id"] != user.location:
        result.violations.append(f"{user.user_name} ({user.scim_id}): not in the directory of location "
                                 f"{user.location}")
        return
    removed = row["status"] == "removed"
    if user.pending is not None or user.pending_delete:
        result.ambiguous_at_end += 1
        allowed = [user.expected] + ([user.pending] if user.pending is not None else [])
        if removed and (user.pending_delete or user.gone):
            return
        if not removed and _state_of(row) in allowed:
            return
        result.violations.append(f"{user.user_name}: directory holds {_state_of(row)} (removed={removed}); "
                                 f"expected one of {allowed} (or removed={user.pending_delete})")
        return
    if user.gone:
        if removed:
            result.gone_as_acknowledged += 1
        else:
            result.violations.append(f"{user.user_name}: acknowledged delete, but the employee is {row['status']}")
        return
    if removed:
        result.violations.append(f"{user.user_name}: removed, but no delete was acknowledged")
        return
    state = _state_of(row)
    if state != user.expected:
        differing = sorted(k for k in state if state[k] != (user.expected or {}).get(k))
        result.violations.append(f"{user.user_name}: {', '.join(differing)} differ from the last acknowledged write: "
                                 f"{ {k: state[k] for k in differing} } != "
                                 f"{ {k: (user.expected or {}).get(k) for k in differing} }")
        return
    result.present_as_acknowledged += 1


def _check_activity(attempts: list[Attempt], entries: list[asyncpg.Record], result: CheckResult) -> None:
    by_request: dict[str, list[asyncpg.Record]] = {}
    for entry in entries:
        by_request.setdefault(entry["request_id"], []).append(entry)
    refused_ids = {a.request_id for a in attempts if a.is_write and a.status is not None and not a.acknowledged}
    for request_id, found in by_request.items():  # a refused answer with a success entry is reported below
        if len(found) > 1 and not (request_id in refused_ids and any(200 <= e["status"] < 300 for e in found)):
            result.violations.append(f"request {request_id}: {len(found)} activity entries")
    seen = {a.request_id for a in attempts if a.request_id}
    unseen: dict[tuple[str, str], int] = Counter()  # (userName, operation) -> entries of lost answers
    for entry in entries:
        if entry["request_id"] not in seen and 200 <= entry["status"] < 300:
            result.lost_answer_entries += 1
            unseen[(entry["user_name"], entry["operation"])] += 1
    writes = [a for a in attempts if a.is_write]
    for attempt in writes:  # which unanswered attempts had committed (their entry carries an unseen id)
        if attempt.status is None:
            result.lost_answer_write_attempts += 1
            key = (attempt.user, OPERATIONS[attempt.method])
            attempt.committed = unseen[key] > 0
            if attempt.committed:
                unseen[key] -= 1
    committed_changes = {(a.client, a.change) for a in writes if a.committed}
    for attempt in writes:  # refused answers: their entries; one recording a success means the write committed
        found = by_request.get(attempt.request_id or "", [])
        if attempt.status is None or attempt.acknowledged:
            continue
        result.refused_with_entry[len(found)] += 1
        if any(200 <= e["status"] < 300 for e in found):
            attempt.committed = True
            committed_changes.add((attempt.client, attempt.change))
            result.violations.append(f"{attempt.method} {attempt.user} answered {attempt.status} (request "
                                     f"{attempt.request_id}), but the write committed: entries "
                                     f"{sorted((e['operation'], e['status']) for e in found)}")
    for attempt in writes:
        found = by_request.get(attempt.request_id or "", [])
        if not attempt.acknowledged:
            continue
        result.acknowledged_writes += 1
        if not found and attempt.method in ("PATCH", "PUT") and (attempt.client, attempt.change) in committed_changes:
            result.noop_retries += 1  # an earlier attempt's write is the change; this retry changed nothing
            continue
        if len(found) != 1:
            result.violations.append(f"acknowledged {attempt.method} {attempt.user} ({attempt.status}, request "
                                     f"{attempt.request_id}): {len(found)} activity entries")
            continue
        entry = found[0]
        expected = (OPERATIONS[attempt.method], attempt.location, attempt.status)
        if (entry["operation"], entry["location_id"], entry["status"]) != expected:
            result.violations.append(f"request {attempt.request_id}: entry (operation, location, status) "
                                     f"{(entry['operation'], entry['location_id'], entry['status'])} != {expected}")
            continue
        result.acknowledged_with_one_entry += 1
    if sum(unseen.values()):
        result.violations.append(f"{sum(unseen.values())} successful entries carry request ids no client saw and "
                                 "match no unanswered attempt (same userName and operation)")


async def check(dsn: str, users: list[User], attempts: list[Attempt]) -> CheckResult:
    """Every check of the module docstring; ``violations`` lists what failed."""
    user_rows, entries = await _rows(dsn)
    by_id = {row["scim_id"]: row for row in user_rows}
    result = CheckResult(entries_total=len(entries))
    for user in users:
        _check_user(user, by_id.get(user.scim_id or ""), result)
    _check_activity(attempts, entries, result)
    return result
