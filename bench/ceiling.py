"""The ceiling: a ``tornado.web`` hello world answering every request with a small JSON body.

Measured in the same run, with the same wrk settings and the same number of worker processes
(forked the same way, :mod:`gateway.workers`) as the gateway: the gateway's throughput is
reported as a share of this one (docs/architecture.md, performance notes).

    python3 bench/ceiling.py --port 8081 [--processes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
from typing import Any

import tornado.httpserver
import tornado.web

from gateway.workers import bind_port, listeners, run_workers

#: An empty SCIM ListResponse: the size of a small SCIM answer.
BODY = (b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],'
        b'"totalResults":0,"Resources":[],"startIndex":1,"itemsPerPage":0}')


class CeilingHandler(tornado.web.RequestHandler):
    """Any method, any path: 200 with :data:`BODY`."""

    def _answer(self, *args: Any) -> None:
        self.set_header("Content-Type", "application/scim+json")
        self.finish(BODY)

    get = post = put = patch = delete = _answer


async def serve(sockets: list[socket.socket]) -> None:
    """Serve until SIGINT/SIGTERM."""
    server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/.*", CeilingHandler)]))
    server.add_sockets(sockets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--processes", type=int, default=1, help="worker processes sharing the port")
    args = parser.parse_args()
    port, sockets = bind_port(args.port, args.host, args.processes)
    if args.processes == 1:
        asyncio.run(serve(sockets))
        return

    def worker(task_id: int) -> int:
        asyncio.run(serve(listeners(port, args.host, sockets)))
        return 0

    sys.exit(run_workers(args.processes, worker))


if __name__ == "__main__":
    main()
