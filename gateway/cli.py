"""``vizmo-scim``: serve the gateway, manage locations' SCIM integrations, inspect adapters.

    vizmo-scim serve [--config FILE] [--data-dir DIR] [--directory PATH] [--host H] [--port P]
                     [--base-url URL] [--processes N]
    vizmo-scim integration add|list|rotate|remove [--config FILE] [--data-dir DIR] [--location ID] ...
    vizmo-scim activity --location ID [--since ISO-8601] [--until ISO-8601] [--user NAME] [--limit N] [--json]
    vizmo-scim admin add USER [--location ID ...] [--password-file FILE] | admin list | admin remove USER
    vizmo-scim check-config [FILE]
    vizmo-scim adapters list [--json]
    vizmo-scim --version

The integration commands write to the state store beside the directory, so every running
gateway process honours them at once (no restart). Secret Tokens are printed once, never logged.
Every command but ``serve`` acts on the configuration ``serve`` runs with and creates nothing
(:mod:`gateway.config_source`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Coroutine, Iterator, Sequence

from jsonschema import SchemaError

from adapters.errors import AdapterError, AlreadyExists
from adapters.location_ids import MAX_LOCATION_ID, location_number
from adapters.registry import AdapterNotFound
from gateway.activity.command import ActivityCommandError, parse_since, show_activity
from gateway.adapter_setup import OpenAdapter, build_adapter, open_adapter, raised_at
from gateway.admin.command import AdminCommandError, run_admin
from gateway.config import ConfigError, GatewayConfig, check_base_url, load_config
from gateway.config_source import CONFIG_ENV, choose, recorded_origin
from gateway.logs import configure_logging
from gateway.offline_commands import check_config, list_adapters, startup_checks, version
from gateway.permissions import use_private_umask, warn_if_exposed
from gateway.serving import serve
from gateway.workers import WorkersGaveUp
from gateway.signing_keys import claim_key, load_signing_key
from gateway.tenant_urls import tenant_url
from gateway.tokens import TokenCodec

log = logging.getLogger("vizmo_scim.app")

class CliError(Exception):
    """A failure the user can fix; printed without a traceback, exit status 1."""


class UsageError(CliError):
    """A malformed argument; printed on one line, exit status 2 (as argparse's own errors)."""


def canonical_location(text: str) -> str:
    """``text`` if it is a location id as the directory stores it, else :class:`UsageError`."""
    if location_number(text) is None:
        raise UsageError(f"--location must be a location id: a positive whole number written in the digits "
                         f"0-9 without leading zeros, at most {MAX_LOCATION_ID}; got {text[:30]!r}")
    return text


#: ``serve`` flags that set the configuration field of the same name.
SERVE_SETTINGS = ("certfile", "keyfile", "log_format", "rate_limit", "rate_burst")


def _config(args: argparse.Namespace) -> GatewayConfig:
    """Flags > environment > the file (``--config``, ``VIZMO_SCIM_CONFIG`` or, but for ``serve``,
    the one ``serve`` recorded in the data directory) > defaults."""
    source = choose(args.config, args.data_dir, env=os.environ, serving=args.command == "serve")
    directory = args.directory
    if directory is None and not os.environ.get("VIZMO_SCIM_DIRECTORY"):
        directory = source.directory
    config = load_config(source.file, data_dir=args.data_dir or source.data_dir, directory=directory,
                         host=getattr(args, "host", None), port=getattr(args, "port", None),
                         base_url=getattr(args, "base_url_flag", None) or source.base_url,
                         processes=getattr(args, "processes", None),
                         **{name: getattr(args, name, None) for name in SERVE_SETTINGS})
    if args.command != "serve" and source.file is not None and config.base_url is None:
        origin = recorded_origin(config.data_dir, source.file)
        if origin is not None:
            config = replace(config, base_url=origin)
    return config


# -- integration ------------------------------------------------------------------------------

async def _integration(args: argparse.Namespace, config: GatewayConfig) -> None:
    # the key first: a key error is a configuration error, found before any storage is opened
    key = load_signing_key(config, create=False) if args.action in ("add", "rotate") else None
    opened = await open_adapter(config, create=False)
    try:
        state = opened.state
        base_url = check_base_url(args.base_url, "--base-url") if args.base_url else config.public_base_url
        if args.action == "list":
            rows = await state.list()
            if args.json:
                print(json.dumps([{"location_id": int(r.tenant), "tenant_url": tenant_url(base_url, r.tenant),
                                   "enabled_at": r.created_at, "token_issued_at": r.rotated_at} for r in rows]))
            elif rows:
                for r in rows:
                    print(f"{r.tenant}\t{tenant_url(base_url, r.tenant)}\tenabled {r.created_at}\t"
                          f"token issued {r.rotated_at}")
            else:
                print("No location has SCIM enabled.")
            return
        if args.location is None:
            raise UsageError(f"integration {args.action} needs --location ID")
        location = canonical_location(args.location)
        if args.action == "remove":
            await state.remove(location)
            print(f"SCIM disabled for location {location}; its Secret Token no longer works. "
                  "Employees stay in the directory.")
            return
        assert key is not None
        await claim_key(state, key, refusing="to issue a Secret Token")  # before any change
        if args.action == "add":
            token_id = await _enable(opened, location)
        else:
            token_id = await state.rotate(location)
        _print_credentials(args.json, tenant_url(base_url, location), location,
                           TokenCodec(key.secret).issue(location, token_id))
    finally:
        await opened.close()


async def _enable(opened: OpenAdapter, location: str) -> str:
    """Enable the location; the state store decides atomically, so of concurrent ``add`` runs
    exactly one gets a token id and the others fail here (and print no token)."""
    if not await opened.adapter.tenant_exists(location):
        raise CliError(f"location {location} does not exist in the directory")
    try:
        return await opened.state.enable(location)
    except AlreadyExists:
        raise CliError(f"SCIM is already enabled for location {location}; "
                       "use 'integration rotate' for a new Secret Token") from None


def _print_credentials(as_json: bool, tenant_url: str, location: str, token: str) -> None:
    if as_json:
        print(json.dumps({"location_id": int(location), "tenant_url": tenant_url, "secret_token": token}))
        return
    print(f"Tenant URL:   {tenant_url}\nSecret Token: {token}\n"
          "Paste both into the Entra ID enterprise application (Provisioning > Admin Credentials) "
          "and press Test Connection. The token is shown only now.")


# -- activity ---------------------------------------------------------------------------------

def _activity(args: argparse.Namespace, config: GatewayConfig) -> int:
    location = canonical_location(args.location)
    try:
        since = parse_since(args.since) if args.since is not None else None
        until = parse_since(args.until, "--until") if args.until is not None else None
        _bounded_run(show_activity(config, location, since=since, until=until, user_name=args.user or None,
                                   limit=args.limit, json_output=args.json))
    except ActivityCommandError as exc:
        raise UsageError(str(exc)) from None
    return 0


# -- admin (the admin page's operator accounts) ------------------------------------------------

def _admin(args: argparse.Namespace, config: GatewayConfig) -> int:
    locations = [canonical_location(location) for location in args.location or []]
    try:
        asyncio.run(run_admin(config, args.action, args.user, locations, args.password_file))
    except AdminCommandError as exc:
        raise CliError(str(exc)) from None
    return 0


# -- parser -----------------------------------------------------------------------------------

def _given_text(text: str) -> str:
    """A text flag's value; an empty one is refused (``--host ""`` listened on every interface,
    where the file's ``host = ""`` is refused: a configuration review)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _given_path(text: str) -> Path:
    """A path flag's value, refused empty as text is (``Path("")`` is the current folder)."""
    return Path(_given_text(text))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vizmo-scim", description="SCIM 2.0 gateway to the Vizmo directory.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    def storage(p: argparse.ArgumentParser, serving: bool = False) -> None:
        recorded = "" if serving else ", else the one 'serve' recorded in DATA_DIR/served-config.json"
        p.add_argument("--config", type=_given_path, metavar="FILE",
                       help=f"TOML configuration file (default: ${CONFIG_ENV}{recorded})")
        p.add_argument("--data-dir", type=_given_path, metavar="DIR", help="data directory (default ./vizmo-scim-data)")
        p.add_argument("--directory", type=_given_path, metavar="PATH",
                       help="embedded SQLite directory (default DATA_DIR/directory.db)")

    serve_p = commands.add_parser("serve", help="serve the gateway")
    storage(serve_p, serving=True)
    serve_p.add_argument("--host", type=_given_text, metavar="H", help="address to listen on (default 127.0.0.1)")
    # numbers are parsed by gateway.config, as the same settings from the file and the environment
    serve_p.add_argument("--port", metavar="P", help="port, 0-65535 (default 8080; 0 picks a free one)")
    serve_p.add_argument("--base-url", dest="base_url_flag", type=_given_text, metavar="URL",
                         help="public origin for meta.location, e.g. https://scim.example.com")
    serve_p.add_argument("--processes", metavar="N", help="worker processes, 1-64 (default 1)")
    serve_p.add_argument("--certfile", type=_given_path, metavar="PEM",
                         help="serve HTTPS (TLS 1.2 or later) with this certificate (PEM)")
    serve_p.add_argument("--keyfile", type=_given_path, metavar="PEM", help="the certificate's private key (PEM)")
    serve_p.add_argument("--log-format", dest="log_format", choices=["text", "json"],
                         help="log lines for a terminal (text, the default) or one JSON object per line")
    serve_p.add_argument("--rate-limit", dest="rate_limit", metavar="PER_SECOND",
                         help="requests per second per location and worker (default 200)")
    serve_p.add_argument("--rate-burst", dest="rate_burst", metavar="N",
                         help="requests a location may send at once above the rate (default 400)")

    def actions(command: str, text: str, described: dict[str, str],
                **defaults: Any) -> Iterator[tuple[str, argparse.ArgumentParser]]:
        """One parser per action, so that each --help lists the options it takes and no other
        is accepted; each takes the storage options, ``defaults`` for those it does not take."""
        parent = commands.add_parser(command, help=text)
        sub = parent.add_subparsers(dest="action", required=True, metavar="{" + ",".join(described) + "}")
        for action, about in described.items():
            p = sub.add_parser(action, help=about, description=about)
            p.set_defaults(**defaults)
            storage(p)
            yield action, p

    for action, p in actions("integration", "enable, list, rotate or remove a location's SCIM integration", {
            "add": "enable SCIM for a location: print its Tenant URL and a Secret Token",
            "list": "the locations with SCIM enabled",
            "rotate": "a new Secret Token for a location (the old one stops working at once)",
            "remove": "disable SCIM for a location (its employees stay)"}, location=None, base_url=None, json=False):
        if action != "list":
            p.add_argument("--location", metavar="ID", help="location id")
        if action != "remove":
            p.add_argument("--base-url", type=_given_text, metavar="URL",
                           help="the gateway's public origin, used to print the Tenant URL (default: the running "
                                "serve's, else [server] base_url, else http://HOST:PORT)")
            p.add_argument("--json", action="store_true", help="print JSON")

    activity = commands.add_parser("activity", help="a location's provisioning activity log, newest first")
    storage(activity)
    activity.add_argument("--location", required=True, metavar="ID", help="location id")
    activity.add_argument("--since", metavar="ISO-8601",
                          help="only entries at or after this ISO 8601 date or date-time (UTC)")
    activity.add_argument("--until", metavar="ISO-8601",
                          help="only entries at or before this ISO 8601 date-time (UTC), or the end of this date")
    activity.add_argument("--user", metavar="NAME", help="only entries of this userName (case-insensitive)")
    activity.add_argument("--limit", type=int, default=50, metavar="N", help="at most this many entries (default 50)")
    activity.add_argument("--json", action="store_true", help="print one JSON array")

    for action, p in actions("admin", "operator accounts of the admin page (/admin)", {
            "add": "add an operator, or set an operator's password and locations",
            "list": "the operators and their locations",
            "remove": "remove an operator (their sessions end)"}, user=None, location=None, password_file=None):
        if action != "list":
            p.add_argument("user", nargs="?", metavar="USER", help="the operator's name")  # its absence: one line
        if action == "add":
            p.add_argument("--location", action="append", metavar="ID",
                           help="a location the operator may manage (repeatable; default: every location)")
            p.add_argument("--password-file", type=_given_path, metavar="FILE",
                           help="read the password from this file's first line (default: ask twice at the terminal)")

    check = commands.add_parser("check-config", help="validate a configuration file without serving")
    check.add_argument("file", type=_given_path, nargs="?", metavar="FILE",
                       help=f"the TOML file (default: ${CONFIG_ENV})")

    adapters_p = commands.add_parser("adapters", help="list the installed adapters and their options")
    adapters_p.add_argument("action", choices=["list"])
    adapters_p.add_argument("--json", action="store_true")
    return parser


def _config_file(path: Path | None) -> Path:
    """``check-config``'s FILE, else the file ``VIZMO_SCIM_CONFIG`` names."""
    if path is not None:
        return path
    if not os.environ.get(CONFIG_ENV):
        raise UsageError(f"check-config needs a FILE, or {CONFIG_ENV} naming one")
    return Path(os.environ[CONFIG_ENV])


def main(argv: Sequence[str] | None = None) -> int:
    use_private_umask()
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check-config":
            return check_config(_config_file(args.file))
        if args.command == "adapters":
            return list_adapters(args.json)
        config = _config(args)
        if args.command == "serve":
            configure_logging(log_format=config.log_format)
            build_adapter(config)  # a configuration that cannot serve is refused before it is recorded
            warn_if_exposed(config)  # after: it reads the adapter's options as valid (a path of 5 was a traceback)
            startup_checks(config)  # before any storage is opened or created
            return serve(config)  # records it once its port is bound (DATA_DIR/served-config.json)
        if args.command == "activity":
            return _activity(args, config)
        if args.command == "admin":
            return _admin(args, config)
        _bounded_run(_integration(args, config))
        return 0
    except BrokenPipeError as exc:  # a command's reader went away (`... --json | head -c1`): nothing more to say
        if args.command == "serve":  # (its pipes are another matter: say so)
            print(f"vizmo-scim: {exc}", file=sys.stderr)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (the exit's flush would fail again)
        return 1
    except (CliError, ConfigError, AdapterError, AdapterNotFound, SchemaError, OSError, WorkersGaveUp) as exc:
        detail: Any = getattr(exc, "detail", None) or str(exc)
        print(f"vizmo-scim: {detail}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    except Exception as exc:  # noqa: BLE001 - a bug (a plugin's state store raising): one line naming where
        print(f"vizmo-scim: unexpected error: {raised_at(exc)}", file=sys.stderr)
        return 1


#: How long an ``integration`` or ``activity`` command may wait for its storage in all (an adapter's
#: start and stop are bounded on their own): a plugin's state store that hung held it for ever.
COMMAND_SECONDS = 180.0


def _bounded_run(command: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run(command)`` within :data:`COMMAND_SECONDS`."""
    async def within() -> None:
        try:
            async with asyncio.timeout(COMMAND_SECONDS):
                await command
        except TimeoutError:
            raise CliError(f"the storage did not answer within {COMMAND_SECONDS:g} s; nothing is known to have "
                           "changed (check the directory, then run the command again)") from None
    asyncio.run(within())


if __name__ == "__main__":
    sys.exit(main())
