"""``vizmo-scim``: serve the gateway and manage locations' SCIM integrations.

    vizmo-scim serve [--data-dir DIR] [--directory PATH] [--host H] [--port P] [--base-url URL]
    vizmo-scim integration add|list|rotate|remove [--data-dir DIR] [--directory PATH] [--location ID] ...

The integration commands write to the directory database, so a running gateway honours
them at once (no restart). Secret Tokens are printed once and never logged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any, Sequence

import tornado.httpserver

from adapters.errors import AdapterError, NotFound
from adapters.vizmo_sqlite.adapter import VizmoSqliteAdapter
from adapters.vizmo_sqlite.bootstrap import create_directory
from adapters.vizmo_sqlite.integrations import IntegrationStore
from gateway.app import make_app
from gateway.config import GatewayConfig, from_environment
from gateway.context import GatewayContext
from gateway.tokens import TokenCodec, load_or_create_key

log = logging.getLogger("vizmo_scim.app")


class CliError(Exception):
    """A failure the user can fix; printed without a traceback, exit status 1."""


def _config(args: argparse.Namespace) -> GatewayConfig:
    return from_environment(data_dir=args.data_dir, directory=args.directory,
                            host=getattr(args, "host", None), port=getattr(args, "port", None),
                            base_url=getattr(args, "base_url", None))


def prepare_directory(config: GatewayConfig) -> Path:
    """The directory database: created with the demo location when the default one is missing;
    an explicit ``--directory`` must exist (it is the customer's real directory)."""
    path = config.directory_path
    if not path.exists():
        if config.directory is not None:
            raise CliError(f"no directory database at {path}")
        config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        create_directory(path)
    return path


def _tenant_url(base_url: str, location_id: int) -> str:
    return f"{base_url.rstrip('/')}/scim/v2/locations/{location_id}"


async def serve(config: GatewayConfig) -> None:
    """Run the gateway until SIGINT/SIGTERM, then stop accepting and close the directory."""
    path = prepare_directory(config)
    tokens = TokenCodec(load_or_create_key(config.data_dir))
    adapter = VizmoSqliteAdapter(path)
    await adapter.start()
    integrations = IntegrationStore(path)
    ctx = GatewayContext(config=config, adapter=adapter, integrations=integrations, tokens=tokens)
    server = tornado.httpserver.HTTPServer(make_app(ctx), max_body_size=config.max_body_bytes * 4,
                                          idle_connection_timeout=120, body_timeout=60)
    server.listen(config.port, address=config.host)
    base = config.base_url or f"http://{config.host}:{config.port}"
    print(f"vizmo-scim: serving {path} at {base}/scim/v2/locations/<location id>; enable a location with "
          f"'vizmo-scim integration add --data-dir {config.data_dir} --location <id> --base-url {base}'",
          flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()
    await server.close_all_connections()
    await adapter.stop()
    integrations.close()


def integration(args: argparse.Namespace) -> int:
    """``integration add|list|rotate|remove``."""
    config = _config(args)
    path = prepare_directory(config)
    store = IntegrationStore(path)
    try:
        if args.action == "list":
            rows = store.list()
            if args.json:
                print(json.dumps([{"location_id": r.location_id, "location_name": r.location_name,
                                   "tenant_url": _tenant_url(args.base_url, r.location_id),
                                   "enabled_at": r.created_at, "rotated_at": r.rotated_at} for r in rows]))
            else:
                for r in rows:
                    print(f"{r.location_id}\t{r.location_name}\t{_tenant_url(args.base_url, r.location_id)}\t"
                          f"enabled {r.created_at}\ttoken issued {r.rotated_at}")
                if not rows:
                    print("No location has SCIM enabled.")
            return 0
        if args.location is None:
            raise CliError(f"integration {args.action} needs --location ID")
        if args.action == "remove":
            store.remove(args.location)
            print(f"SCIM disabled for location {args.location}; its Secret Token no longer works. "
                  "Employees stay in the directory.")
            return 0
        if args.action == "add" and store.active_token_id(args.location) is not None:
            raise CliError(f"SCIM is already enabled for location {args.location}; "
                           "use 'integration rotate' for a new Secret Token")
        token_id = store.enable(args.location) if args.action == "add" else store.rotate(args.location)
        token = TokenCodec(load_or_create_key(config.data_dir)).issue(args.location, token_id)
        _print_credentials(args, token)
        return 0
    except NotFound as exc:
        raise CliError(exc.detail) from None
    finally:
        store.close()


def _print_credentials(args: argparse.Namespace, token: str) -> None:
    tenant_url = _tenant_url(args.base_url, args.location)
    if args.json:
        print(json.dumps({"location_id": args.location, "tenant_url": tenant_url, "secret_token": token}))
        return
    print(f"Tenant URL:   {tenant_url}\nSecret Token: {token}\n"
          "Paste both into the Entra ID enterprise application (Provisioning > Admin Credentials) "
          "and press Test Connection. The token is shown only now.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vizmo-scim", description="SCIM 2.0 gateway to the Vizmo directory.")
    commands = parser.add_subparsers(dest="command", required=True)

    def storage(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", type=Path, help="data directory (default ./vizmo-scim-data)")
        p.add_argument("--directory", type=Path, help="directory database (default DATA_DIR/directory.db)")

    serve_p = commands.add_parser("serve", help="serve the gateway")
    storage(serve_p)
    serve_p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve_p.add_argument("--port", type=int, help="port (default 8080)")
    serve_p.add_argument("--base-url", help="public origin for meta.location, e.g. https://scim.example.com")

    integ = commands.add_parser("integration", help="enable, list, rotate or remove a location's SCIM integration")
    integ.add_argument("action", choices=["add", "list", "rotate", "remove"])
    storage(integ)
    integ.add_argument("--location", type=int, help="location id")
    integ.add_argument("--base-url", default="http://127.0.0.1:8080",
                       help="the gateway's public origin, used to print the Tenant URL")
    integ.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
            asyncio.run(serve(_config(args)))
            return 0
        return integration(args)
    except (CliError, AdapterError, FileNotFoundError, PermissionError, ValueError) as exc:
        detail: Any = getattr(exc, "detail", None) or str(exc)
        print(f"vizmo-scim: {detail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
