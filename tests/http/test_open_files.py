"""Open files, through the real ``vizmo-scim serve`` started the way systemd starts a service:
with a soft limit far below its hard one. Each client connection takes a file; past the soft
limit a worker's accept failed with EMFILE in a loop, a traceback each time, while new requests
waited (a review: 68,000 tracebacks in 15 s at 1,100 connections under 1,024)."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.serving import Server

#: ``python -c`` prefix that lowers the soft limit and then runs ``vizmo-scim`` with the rest.
LIMITED = ("-c", "import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_NOFILE, ({soft}, {hard})); "
                 "sys.argv = ['vizmo-scim', *sys.argv[1:]]; runpy.run_module('gateway.cli', run_name='__main__')")


def _launcher(soft: int, hard: int) -> tuple[str, ...]:
    return (LIMITED[0], LIMITED[1].format(soft=soft, hard=hard))


def _healthz_on_each(port: int, count: int) -> int:
    """Open ``count`` connections at once, then ask each for /healthz; how many answered 200."""
    conns = []
    try:
        for _ in range(count):
            conns.append(socket.create_connection(("127.0.0.1", port), timeout=10))
        for conn in conns:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        return sum(conn.recv(64).startswith(b"HTTP/1.1 200") for conn in conns)
    finally:
        for conn in conns:
            conn.close()


def test_serve_raises_its_soft_open_files_limit_to_the_hard_one(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", launcher=_launcher(256, 4096))
    server.start()
    try:
        assert _healthz_on_each(server.port, 600) == 600
    finally:
        log = server.stop()
    assert "Too many open files" not in log and "may open only" not in log


def test_serve_warns_when_its_hard_limit_is_low(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", launcher=_launcher(512, 1024))
    server.start()
    log = server.stop()
    assert "a process may open only 1024 files (its hard limit)" in log and "LimitNOFILE=" in log


def test_serve_raises_it_no_further_than_its_cap(tmp_path: Path) -> None:
    """Each connection holds about 24 KiB: under a hard limit of a million, idle connections could take
    gigabytes of a worker's memory (a security review). The cap (``MAX_OPEN_FILES``, 65,536) is
    lowered here to 3,000, below this machine's hard limit, to see it hold."""
    capped = ("-c", "import resource, runpy, sys; import gateway.workers as w; w.MAX_OPEN_FILES = 3000; "
                    "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]; "
                    "resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard)); "
                    "sys.argv = ['vizmo-scim', *sys.argv[1:]]; runpy.run_module('gateway.cli', run_name='__main__')")
    server = Server(tmp_path / "data", launcher=capped)
    server.start()
    try:
        assert server.proc is not None
        limits = Path(f"/proc/{server.proc.pid}/limits").read_text()
        line = next(row for row in limits.splitlines() if row.startswith("Max open files"))
        assert line.split()[3] == "3000", line
    finally:
        log = server.stop()
    assert "may open only 3000 files" in log  # below FEW_OPEN_FILES: said
