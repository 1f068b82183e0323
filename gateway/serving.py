"""``vizmo-scim serve``: bind, start the workers, serve until SIGTERM/SIGINT, then drain.

A stopping worker stops accepting connections, lets the requests under way finish (at most
:data:`DRAIN_SECONDS`), closes its connections and then its storage, and exits 0; a stop still
unfinished after :data:`STOP_SECONDS` logs every thread's stack and exits 1.
"""

from __future__ import annotations

import asyncio
import faulthandler
import gc
import logging
import os
import signal
import sys
from dataclasses import replace
from collections.abc import Callable, Sequence
from typing import Any

import tornado.httpserver
import tornado.netutil

from gateway.app import IDLE_TIMEOUT, ScimApplication, make_app, make_metrics_app, make_server, metrics_token
from gateway.certificates import CertificateReloader, expiry_warning, tls_context
from adapters.vizmo_sqlite.adapter import WRITE_LOCK_WAIT
from adapters.errors import Unavailable
from gateway.adapter_setup import OpenAdapter, open_adapter
from gateway.config import ConfigError, GatewayConfig
from gateway.config_source import command_flags, record
from gateway.context import GatewayContext
from gateway.forwarded import too_wide, trusted_networks
from gateway.loop_watch import LoopWatch
from gateway.metrics import remove_multiprocess_folder, use_multiprocess_folder
from gateway.signing_keys import claim_deployment_key, load_signing_key
from gateway.tenant_urls import tenant_url
from gateway.tokens import TokenCodec
from gateway.workers import (bind_port, cannot_listen, ignore_hangup, listeners, raise_open_files_limit,
                             run_workers)

log = logging.getLogger("vizmo_scim.app")

#: GIL switch interval of a serving worker (Python's default is 0.005 s).
SWITCH_INTERVAL = 0.0005

#: Garbage collector thresholds of a serving worker (Python's default is 700, 10, 10).
GC_THRESHOLDS = (10_000, 50, 100)

#: Pauses between a worker's tries to open its storage at start (seconds; about 30 in all).
OPEN_RETRY_PAUSES = (1.0, 2.0, 4.0, 8.0, 15.0)

#: How long a stopping worker waits for requests under way before closing the storage.
DRAIN_SECONDS = 10.0

#: How long a stop may take in all (the drain, then closing the connections and the storage)
#: before the worker writes every thread's stack to its log and exits 1. A stop that hangs would
#: otherwise hold the port, with nothing logged, until an orchestrator's SIGKILL (one did: the
#: WAL checkpoint thread once missed its stop, adapters/vizmo_sqlite/checkpoint.py). The stdlib's
#: ``faulthandler`` does it from a C thread of its own, so a blocked event loop cannot stop it.
#: It stays armed until the process ends: an adapter's call that outlived its timeout on a thread
#: (answered 503, still running) would otherwise hold the exit, where asyncio and the interpreter
#: wait for every thread, with no bound.
STOP_SECONDS = DRAIN_SECONDS + 20.0


async def serve_worker(config: GatewayConfig, tokens: TokenCodec, listen: Callable[[], list[Any]],
                       metrics_sockets: Sequence[Any] = ()) -> None:
    """One worker: serve on the sockets ``listen()`` gives until SIGINT/SIGTERM, then drain and
    close; ``metrics_sockets`` (the ``[metrics] port``) serve ``GET /metrics`` alone. ``listen``
    is called once the storage is open: a worker restarted while the storage was down joined the
    port (``SO_REUSEPORT``) first, and the connections the kernel handed it waited up to 30 s,
    then were reset, probes included (a TLS review)."""
    # Storage threads (aiosqlite scans, asyncpg, ldap3) hand results back to the event loop;
    # with Python's default 5 ms GIL switch interval each hand-back can wait that long behind
    # request parsing (measured with bench/load.py).
    sys.setswitchinterval(SWITCH_INTERVAL)
    opened = await _open_storage(config)
    ctx = GatewayContext(config=config, adapter=opened.adapter, state=opened.state, tokens=tokens)
    app = make_app(ctx)
    tls = tls_context(config)
    server = make_server(app, config, tls=tls)
    reloader = None
    if tls is not None:  # Tornado wraps each accepted connection with the server's ssl_options
        reloader = CertificateReloader(config, lambda renewed: setattr(server, "ssl_options", renewed))
        reloader.start()
    metrics_server = None
    if metrics_sockets:
        metrics_server = tornado.httpserver.HTTPServer(make_metrics_app(ctx), idle_connection_timeout=IDLE_TIMEOUT)
        metrics_server.add_sockets(metrics_sockets)
    if ctx.recorder is not None:
        ctx.recorder.start_pruning()
    _settle_garbage_collector()
    server.add_sockets(listen())
    watch = LoopWatch(ctx.metrics.loop_blocked.inc)
    watch.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, ignore_hangup)
    await stop.wait()
    log.info("stopping: %d request(s) under way, waiting up to %g s for them", app.inflight, DRAIN_SECONDS)
    faulthandler.dump_traceback_later(STOP_SECONDS, exit=True)
    if metrics_server is not None:
        metrics_server.stop()
    await drain(app, server)
    await ctx.close()  # the queued activity entries are stored before the storage closes
    await opened.close()
    watch.stop()
    if reloader is not None:
        reloader.stop()
    log.info("stopped")  # the watchdog stays armed: the process ends within STOP_SECONDS, or says why


async def _open_storage(config: GatewayConfig) -> OpenAdapter:
    """The worker's storage, tried again for a while when it is unavailable: ``serve`` opened it
    once before starting the workers, so a failure now is passing (a database short of
    connections for a moment). A worker that exited at once was restarted at once, 20 times in
    a second, and then the whole gateway stopped, healthy workers too (a PostgreSQL review)."""
    for pause in OPEN_RETRY_PAUSES:
        try:
            return await open_adapter(config)
        except Unavailable as exc:
            log.warning("the storage is unavailable (%s); trying again in %g s", exc.detail, pause)
        await asyncio.sleep(pause)
    return await open_adapter(config)


async def drain(app: ScimApplication, server: tornado.httpserver.HTTPServer, seconds: float = DRAIN_SECONDS) -> None:
    """Stop accepting, let the requests under way finish (at most ``seconds``), then close every
    connection. Meanwhile each answer closes its connection, so a keep-alive client cannot keep
    the worker busy with new requests (:func:`gateway.app.close_after_answer`)."""
    server.stop()
    app.draining = True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while app.inflight > 0 and loop.time() < deadline:
        await asyncio.sleep(0.02)
    if app.inflight > 0:
        log.warning("%d request(s) still under way after %g s are cut off: their connections close without an "
                    "answer, so the client sends them again (a write among them may be stored all the same; the "
                    "retry then meets it)", app.inflight, seconds)
    app.closing = True  # from now on a request that arrives is answered 503 and runs nothing
    await server.close_all_connections()


def _settle_garbage_collector() -> None:
    """Keep the cyclic garbage collector off the request path.

    Everything built at start (modules, the schema model, the storage, the app) lives as long
    as the worker: ``gc.freeze`` moves it out of the collector's sight, and higher thresholds
    make young collections rarer. Before this a full collection walked all of it for ~40 ms
    every few seconds under load, stalling every request of the worker (bench/load.py: POST p99
    70 → 52 ms). Reference counting still frees all non-cyclic garbage at once.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def late_write_warning(config: GatewayConfig) -> str | None:
    """Why a write answered 503 at ``adapter_timeout_seconds`` may still be stored afterwards (a
    client's retry then meets it), or None: the storage's own wait outlasts the gateway's (SQLite's
    write-lock wait; the LDAP adapter's ``timeout``, whose call runs on its thread after the 503:
    an LDAP operations review stored a disable answered 503 at 15 s, with nothing said at start)."""
    name = config.adapter_name.lower()
    if name == "sqlite" and config.adapter_timeout < WRITE_LOCK_WAIT:
        return (f"[limits] adapter_timeout_seconds is {config.adapter_timeout:g}, below the {WRITE_LOCK_WAIT:g} s a "
                "SQLite write waits for another writer's lock: such a write answered 503 at the timeout may still "
                f"be stored once it gets the lock (a client's retry then meets it); set it to {WRITE_LOCK_WAIT:g} or "
                "more")
    ldap_timeout = config.adapter_options.get("timeout", 10) if name == "ldap" else None
    if isinstance(ldap_timeout, (int, float)) and ldap_timeout > config.adapter_timeout:
        return (f"[adapter.options] timeout is {ldap_timeout:g} s, above [limits] adapter_timeout_seconds "
                f"({config.adapter_timeout:g}): an LDAP write answered 503 at the gateway's timeout may still be "
                "stored when the server answers (a client's retry then meets it); keep the LDAP timeout at or "
                "below the adapter timeout")
    return None


def serve(config: GatewayConfig) -> int:
    """Serve until SIGINT/SIGTERM; with several processes each worker listens on the port with
    ``SO_REUSEPORT`` (:mod:`gateway.workers`). Returns the exit status."""
    # The ports first: a gateway refused a port in use created nothing (a key, a directory) first.
    port, sockets = bind_port(config.port, config.host, config.processes)
    config = replace(config, port=port)  # --port 0: the port picked
    metrics_sockets: list[Any] = []
    if config.metrics.port is not None:
        try:
            metrics_sockets = tornado.netutil.bind_sockets(config.metrics.port, address=config.metrics.host)
        except OSError as exc:
            raise cannot_listen(exc, config.metrics.host, config.metrics.port, "[metrics]") from None
        config = replace(config, metrics=replace(config.metrics, port=metrics_sockets[0].getsockname()[1]))
    make_data_dir(config)
    key = load_signing_key(config)  # [tokens] signing_key_file / _env, else DATA_DIR/signing-key
    # Open the storage once before forking (fail fast, create tables once) and refuse a key
    # that is not the deployment's (gateway.signing_keys).
    asyncio.run(claim_deployment_key(config, key, refusing="to start"))
    tokens = TokenCodec(key.secret)
    tls_context(config), metrics_token(config)  # a bad certificate or metrics token stops here, once
    if config.certfile is not None and (warning := expiry_warning(config.certfile)) is not None:
        log.warning("%s", warning)
    raise_open_files_limit()  # before the workers fork: they inherit it
    record(config)  # DATA_DIR/served-config.json: what the other commands act on, with the port picked
    for network in too_wide(trusted_networks(config.trusted_proxies)):
        log.warning("[server] trusted_proxies holds %s: every client there may set X-Forwarded-Proto and "
                    "-Host, and so the Tenant URLs and the admin page's scheme; list only your proxies", network)
    if (late := late_write_warning(config)) is not None:
        log.warning("%s", late)
    port, base = config.port, config.public_base_url
    print(f"vizmo-scim: serving adapter {config.adapter_name!r} on {config.host}:{port} with "
          f"{config.processes} process(es); Tenant URLs are {tenant_url(base, '<location id>')}; "
          f"{_metrics_where(config)}; "
          f"enable a location with 'vizmo-scim integration add {command_flags(config)} "
          f"--location <id> --base-url {base}'", flush=True)
    folder = use_multiprocess_folder() if config.processes > 1 else None  # before any worker exists
    supervisor = os.getpid()  # the workers return through here too: only the supervisor removes it
    try:
        if config.processes == 1:
            asyncio.run(serve_worker(config, tokens, lambda: sockets, metrics_sockets))
            return 0
        return run_workers(config.processes, lambda task_id: _run(config, tokens, sockets, metrics_sockets))
    finally:
        for sock in sockets + metrics_sockets:
            sock.close()
        if folder is not None and os.getpid() == supervisor:
            remove_multiprocess_folder(folder)


def make_data_dir(config: GatewayConfig) -> None:
    """The data directory, made owner-only if missing; a refusal naming the setting when it is a
    file or cannot be made (``[Errno 20] Not a directory: '/etc/passwd/signing-key'`` named
    neither: a configuration review)."""
    where = "[server] data_dir, --data-dir or VIZMO_SCIM_DATA_DIR"
    if config.data_dir.exists() and not config.data_dir.is_dir():
        raise ConfigError(f"the data directory {config.data_dir} is not a folder; check {where}")
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ConfigError(f"the data directory {config.data_dir} cannot be made: {exc.strerror or exc}; check "
                          f"{where}") from None


def _metrics_where(config: GatewayConfig) -> str:
    with_token = config.metrics.token_file is not None or config.metrics.token_env is not None
    if config.metrics.port is not None:
        return (f"metrics on http://{config.metrics.host}:{config.metrics.port}/metrics"
                + (" with the [metrics] bearer token" if with_token else ""))
    if with_token:
        return "metrics at /metrics with the [metrics] bearer token"
    return "metrics off (see [metrics] in README)"


def _run(config: GatewayConfig, tokens: TokenCodec, sockets: list[Any], metrics_sockets: list[Any]) -> int:
    """A forked worker: on its own listening sockets (:func:`gateway.workers.listeners`)."""
    asyncio.run(serve_worker(config, tokens, lambda: listeners(config.port, config.host, sockets), metrics_sockets))
    return 0
