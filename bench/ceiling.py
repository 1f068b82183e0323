"""The ceiling: a bare Tornado handler answering every request with a small JSON body.

Measured in the same run, with the same wrk settings, as the gateway (ARCHITECTURE.md,
performance notes): the gateway's throughput is reported as a share of this one.

    python3 bench/ceiling.py --port 8081
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

import tornado.web

#: An empty SCIM ListResponse: the size of a small SCIM answer.
BODY = (b'{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],'
        b'"totalResults":0,"Resources":[],"startIndex":1,"itemsPerPage":0}')


class CeilingHandler(tornado.web.RequestHandler):
    """Any method, any path: 200 with :data:`BODY`."""

    def _answer(self, *args: Any) -> None:
        self.set_header("Content-Type", "application/scim+json")
        self.finish(BODY)

    get = post = put = patch = delete = _answer


async def serve(host: str, port: int) -> None:
    """Serve until SIGINT/SIGTERM."""
    app = tornado.web.Application([(r"/.*", CeilingHandler)])
    server = app.listen(port, address=host)
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
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
