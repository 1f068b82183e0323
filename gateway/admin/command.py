"""``vizmo-scim admin add|list|remove``: the admin page's operator accounts.

    vizmo-scim admin add USER [--location ID ...] [--password-file FILE]
    vizmo-scim admin list
    vizmo-scim admin remove USER

``add`` reads the password from ``--password-file`` (its first line) or, without one, twice from
the terminal (``getpass``, not echoed). It stores only the scrypt hash
(:mod:`gateway.admin.passwords`). ``add`` on an existing account sets its new password and
locations, clears its lock-out and ends its sessions; ``remove`` ends them too. The accounts live
in the state store, so these commands work while ``serve`` runs and every process honours them on
the next request.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from adapters.activity import activity_time
from adapters.operators import OperatorStore
from gateway.adapter_setup import open_adapter
from gateway.admin.accounts import NAME
from gateway.admin.passwords import PasswordError, check_new_password, hash_password
from gateway.config import GatewayConfig


class AdminCommandError(Exception):
    """A failure the user can fix (printed on one line, exit status 1)."""


def check_name(name: str) -> str:
    if NAME.fullmatch(name) is None:
        raise AdminCommandError(f"an operator name is 1-64 letters, digits and . _ @ - (starting with a letter or "
                                f"digit); got {name[:70]!r}")
    return name


def read_password(password_file: Path | None, prompt: Callable[[str], str] = getpass.getpass) -> str:
    """The new password: the first line of ``password_file``, or typed twice at the terminal."""
    if password_file is not None:
        try:
            text = password_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AdminCommandError(f"cannot read the password file {password_file}: {exc}") from None
        password = text.splitlines()[0] if text else ""
    else:
        if prompt is getpass.getpass and not sys.stdin.isatty():  # getpass would warn, then read it echoed
            raise AdminCommandError("no terminal to type the password at: give --password-file FILE (its first "
                                    "line; --password-file /dev/stdin reads a pipe); nothing was changed")
        try:
            password = prompt("New password: ")
            repeated = prompt("Repeat the password: ")
        except EOFError:
            raise AdminCommandError("no password was typed (the input ended): type it at a terminal, or give "
                                    "--password-file FILE; nothing was changed") from None
        if repeated != password:
            raise AdminCommandError("the two passwords differ; nothing was changed")
    try:
        check_new_password(password)
    except PasswordError as exc:
        raise AdminCommandError(str(exc)) from None
    return password


async def run_admin(config: GatewayConfig, action: str, user: str | None, locations: Sequence[str],
                    password_file: Path | None) -> None:
    """Carry out ``vizmo-scim admin ACTION`` (locations already in canonical form)."""
    if action != "list":
        if user is None:
            raise AdminCommandError(f"admin {action} needs the operator's name: vizmo-scim admin {action} USER")
        check_name(user)
    password = read_password(password_file) if action == "add" else ""
    opened = await open_adapter(config, create=False)  # only serve creates storage (issue 17 §1)
    try:
        operators = opened.state.operators()
        if operators is None:
            raise AdminCommandError("this gateway's state store keeps no operator accounts")
        if action == "list":
            await _list(operators)
        elif action == "remove":
            assert user is not None
            if not await operators.remove(user):
                raise AdminCommandError(f"there is no operator {user!r}")
            print(f"Operator {user} removed; their sessions ended.")
        else:
            assert user is not None
            for location in locations:
                if not await opened.adapter.tenant_exists(location):
                    raise AdminCommandError(f"location {location} does not exist in the directory")
            existed = await operators.get(user) is not None
            scope = tuple(dict.fromkeys(locations)) or None
            await operators.put(user, hash_password(password), scope)
            where = "every location" if scope is None else "location(s) " + ", ".join(scope)
            if existed:
                print(f"Operator {user} updated: new password, may manage {where}; their sessions ended.")
            else:
                print(f"Operator {user} created; may manage {where}. Sign in at /admin.")
    finally:
        await opened.close()


async def _list(operators: OperatorStore) -> None:
    found = await operators.list()
    now = activity_time()
    if not found:
        print("No operator accounts. Make one with: vizmo-scim admin add USER")
    for op in found:
        where = "all locations" if op.locations is None else "locations " + ",".join(op.locations)
        locked = f"\tlocked until {op.locked_until}" if op.locked_until and op.locked_until > now else ""
        print(f"{op.name}\t{where}{locked}")
