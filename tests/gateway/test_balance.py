"""Workers of ``serve --processes N`` take a shared socket's connections in balance
(:mod:`gateway.balance`). Real sockets and a real Tornado server on the test's loop; the other
worker is a slot of the shared table that the test sets, as that worker's process would."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import tornado.netutil
import tornado.web
from tornado.iostream import IOStream
from tornado.tcpclient import TCPClient

from gateway.balance import BalancedHTTPServer, ConnectionTable
from tests.serving import Server, children


class _Hello(tornado.web.RequestHandler):
    def get(self) -> None:
        self.finish("hello")


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.002)


async def _serving(table: ConnectionTable, slot: int, *, max_defer: float) -> tuple[BalancedHTTPServer, int]:
    server = BalancedHTTPServer(tornado.web.Application([(r"/", _Hello)]))
    sockets = tornado.netutil.bind_sockets(0, address="127.0.0.1")
    server.accept_balanced(sockets, table, slot, max_defer=max_defer)
    return server, sockets[0].getsockname()[1]


async def _connect(port: int, count: int) -> list[IOStream]:
    return [await TCPClient().connect("127.0.0.1", port) for _ in range(count)]


async def _get(stream: IOStream) -> bytes:
    await stream.write(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    head = await stream.read_until(b"\r\n\r\n")
    return head + await stream.read_bytes(5)


def test_the_table_is_shared_with_forked_workers_and_absent_slots_do_not_count() -> None:
    table = ConnectionTable(3)
    table.join(0)
    table.join(1)
    pid = os.fork()
    if pid == 0:  # a worker: its own slot, written in its own process
        table.opened(1)
        table.opened(1)
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert table.count(1) == 2  # seen by the supervisor
    assert table.is_least_loaded(0) and not table.is_least_loaded(1)  # slot 2 never joined
    table.leave(0)
    assert table.is_least_loaded(1)
    table.closed(0)  # a connection closing after its worker left keeps the slot absent
    assert table.count(0) == -1 and table.is_least_loaded(1)


@pytest.mark.gen_test(timeout=20)
async def test_a_worker_leaves_new_connections_to_a_less_loaded_one_then_takes_those_left_waiting() -> None:
    table = ConnectionTable(2)
    table.join(1)
    table.opened(1)  # the other worker serves one connection
    server, port = await _serving(table, 0, max_defer=0.5)
    try:
        streams = await _connect(port, 3)
        await _until(lambda: table.count(0) == 2)  # 0 and then 1 connection: no more than the other
        await asyncio.sleep(0.1)
        assert table.count(0) == 2  # the third waits for the other worker
        await _until(lambda: table.count(0) == 3)  # which does not take it: taken after max_defer
        replies = [await _get(stream) for stream in streams]
        assert all(reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"hello") for reply in replies)
        for stream in streams:
            stream.close()
        await _until(lambda: table.count(0) == 0)  # closes are counted
    finally:
        server.stop()
    assert table.count(0) == -1  # a stopped worker leaves the table


@pytest.mark.gen_test(timeout=20)
async def test_a_worker_that_left_is_not_waited_for() -> None:
    table = ConnectionTable(2)
    table.join(1)  # the other worker, with no connection
    server, port = await _serving(table, 0, max_defer=30.0)
    try:
        streams = await _connect(port, 2)
        await _until(lambda: table.count(0) == 1)
        table.leave(1)  # it exits (the supervisor's on_exit)
        await _until(lambda: table.count(0) == 2, timeout=5.0)  # long before max_defer
        for stream in streams:
            stream.close()
    finally:
        server.stop()


def _connection_owners(server_port: int, worker_pids: list[int], client_ports: list[int]) -> dict[int, int]:
    """Worker pid → how many of the client's connections it holds, read from /proc (Linux)."""
    inode_of_client_port: dict[int, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                local_port, remote_port = int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16)
                if local_port == server_port and remote_port in client_ports:
                    inode_of_client_port[remote_port] = fields[9]
    owners: dict[int, int] = {}
    for pid in worker_pids:
        fds = os.listdir(f"/proc/{pid}/fd")
        inodes = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in fds}
        owners[pid] = sum(f"socket:[{inode}]" in inodes for inode in inode_of_client_port.values())
    return owners


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads connection owners from Linux /proc")
def test_serve_with_two_workers_spreads_keep_alive_connections_evenly(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", "--processes", "2")
    srv.start()
    clients: list[socket.socket] = []
    try:
        assert srv.proc is not None
        deadline = time.monotonic() + 20
        while srv.log_path.read_text().count("is accepting connections") < 2:  # both workers joined
            assert time.monotonic() < deadline, srv.log_path.read_text()
            time.sleep(0.05)
        workers = children(srv.proc.pid)
        assert len(workers) == 2
        for _ in range(24):  # opened at once, as Entra ID and load generators do
            clients.append(socket.create_connection(("127.0.0.1", srv.port)))
        for client in clients:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        for client in clients:
            assert client.recv(4096).startswith(b"HTTP/1.1 200")
        owners = _connection_owners(srv.port, workers, [c.getsockname()[1] for c in clients])
        assert sum(owners.values()) == 24
        assert max(owners.values()) - min(owners.values()) <= 1, owners
    finally:
        for client in clients:
            client.close()
        srv.stop()
