"""The workers of ``vizmo-scim serve --processes 2`` never outlive their supervisor, and signals
an operator's tools send do what README's *Stopping* says (gateway/workers.py), through the
real command: SIGHUP is ignored, a SIGKILLed supervisor takes its workers down, and workers that
keep dying stop the whole gateway instead of leaving one serving on the port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from gateway.workers import MAX_RESTARTS
from tests.pg_cluster import PgCluster
from tests.serving import PROBE, Server, add_integration, children
from tests.polling import wait_until


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _port_free(port: int) -> bool:
    """Whether a new server could listen on ``port`` (``SO_REUSEADDR``, as servers bind: the
    closed connections' TIME_WAIT does not count, a listener does)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_sighup_is_ignored_by_one_process_and_by_a_supervisor(tmp_path: Path) -> None:
    for processes in ("1", "2"):
        srv = Server(tmp_path / f"data-{processes}", "--processes", processes)
        srv.start()
        assert srv.proc is not None
        try:
            token = add_integration(srv.data_dir)["secret_token"]
            workers = children(srv.proc.pid)
            srv.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: "SIGHUP ignored" in srv.log_path.read_text())
            assert srv.proc.poll() is None and children(srv.proc.pid) == workers
            assert srv.request("GET", PROBE, token)[0] == 200
        finally:
            log = srv.stop()  # and SIGTERM still drains and exits 0
        assert "stopped" in log


def test_a_supervisor_killed_with_sigkill_takes_its_workers_down(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", "--processes", "2")
    srv.start()
    assert srv.proc is not None
    workers = children(srv.proc.pid)
    assert len(workers) == 2
    srv.proc.kill()
    srv.proc.communicate(timeout=30)
    wait_until(lambda: not any(_alive(pid) for pid in workers))  # each got SIGTERM, drained and exited
    wait_until(lambda: _port_free(srv.port))


def test_a_worker_sent_sigterm_alone_drains_and_is_replaced(tmp_path: Path) -> None:
    """An operator's ``kill`` (SIGTERM) of one worker: it drains and exits 0, which the supervisor
    took for the end of a stop: it was never replaced, and once every worker had gone so the
    gateway exited 0, which systemd's Restart=on-failure does not restart (a soak review)."""
    srv = Server(tmp_path / "data", "--processes", "2")
    srv.start()
    assert srv.proc is not None
    try:
        for _ in range(2):  # each of the original workers in turn, then the replacement of the first
            first = children(srv.proc.pid)
            assert len(first) == 2
            os.kill(first[0], signal.SIGTERM)
            wait_until(lambda: len(children(srv.proc.pid)) == 2 and first[0] not in children(srv.proc.pid))
        assert srv.proc.poll() is None
        wait_until(lambda: _healthy(srv.origin))  # (both workers may be replacements still starting)
    finally:
        log = srv.stop()
    assert log.count("exited without a stop of the gateway (a SIGTERM sent to it alone?); restarting it") == 2


def _healthy(origin: str) -> bool:
    try:
        with urllib.request.urlopen(f"{origin}/healthz", timeout=10) as answer:
            return answer.status == 200
    except OSError:
        return False


def test_workers_that_keep_dying_stop_the_gateway_and_free_the_port(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", "--processes", "2")
    srv.start()
    assert srv.proc is not None
    supervisor = srv.proc.pid
    survivor = children(supervisor)[1]
    try:
        for _ in range(MAX_RESTARTS + 1):
            victim = next(pid for pid in children(supervisor) if pid != survivor)
            os.kill(victim, signal.SIGKILL)
            wait_until(lambda: srv.proc.poll() is not None or  # type: ignore[union-attr]
                   (victim not in children(supervisor) and len(children(supervisor)) == 2))
        _, _ = srv.proc.communicate(timeout=60)
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()
    assert srv.proc.returncode == 1
    assert f"workers died more than {MAX_RESTARTS} times within 60 s; stopped the gateway" in srv.log_path.read_text()
    assert not _alive(survivor)  # stopped by the supervisor, not left serving on the port
    assert _port_free(srv.port)
    assert not list(Path("/tmp").glob(f"vizmo-scim-metrics-*/*_{survivor}.db"))


#: A supervisor of one worker that starts, writes its pid to a file, lives ``LIFE`` seconds and
#: exits 3 (run_workers itself, in a process of its own: the budget's numbers are arguments).
_DYING_WORKERS = """
import os, sys, time
from pathlib import Path
from gateway.workers import run_workers
starts, life, limit, window = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
def worker(task_id):
    with starts.open("a") as out:
        out.write(f"{os.getpid()}\\n")
    time.sleep(life)
    os._exit(3)
sys.exit(run_workers(1, worker, max_restarts=limit, restart_window=window))
"""


def _dying_workers(starts: Path, life: float, limit: int, window: float) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _DYING_WORKERS, str(starts), str(life), str(limit), str(window)],
                            cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _started(starts: Path) -> int:
    return len(starts.read_text().split()) if starts.exists() else 0


def test_workers_dying_now_and_then_are_restarted_however_many_die_in_all(tmp_path: Path) -> None:
    """The budget is per window, not per life: with two deaths allowed within 0.3 s, a worker
    that dies every 0.4 s is restarted again and again (Tornado's fork_processes, with a budget
    of two, gave up at the third death of the gateway's life, however far apart)."""
    starts = tmp_path / "starts"
    supervisor = _dying_workers(starts, life=0.4, limit=2, window=0.3)
    try:
        wait_until(lambda: _started(starts) >= 8 or supervisor.poll() is not None)
        assert supervisor.poll() is None, supervisor.communicate()[0]
    finally:
        supervisor.send_signal(signal.SIGTERM)  # forwarded: the worker dies, its restart exits 0
        out, _ = supervisor.communicate(timeout=30)
    assert supervisor.returncode == 0, out
    assert out.count("exited with status 3; restarting it") >= 7


def test_workers_dying_faster_than_the_budget_allows_stop_the_supervisor(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    supervisor = _dying_workers(starts, life=0.0, limit=2, window=60.0)
    try:
        out, _ = supervisor.communicate(timeout=30)
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    assert supervisor.returncode == 1
    assert _started(starts) == 3  # the first start and two restarts; the third death gives up
    assert "3 deaths within 60 s, giving up" in out
    assert "workers died more than 2 times within 60 s; stopped the gateway" in out


def test_a_stop_while_the_workers_start_is_a_clean_stop(tmp_path: Path) -> None:
    """SIGTERM as the workers started: the supervisor took the workers its forwarded SIGTERM killed
    (before their event loops took the signal over) for crashes and restarted them, and a worker
    forked a moment before still had the supervisor's handler and signalled itself into a
    RecursionError; or the signal was lost and a worker served on (a configuration review)."""
    srv = Server(tmp_path / "data", "--processes", "16")
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--data-dir", str(srv.data_dir),
                                 "--port", str(srv.port), "--processes", "16"],
                                stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # the start line
        wait_until(lambda: len(children(proc.pid)) > 0)  # forking has begun: the supervisor's handler is in place
        proc.send_signal(signal.SIGTERM)  # while the workers are forked and open their storage
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # a worker that served on held the stop: leave nothing running
            for pid in [*children(proc.pid), proc.pid]:
                os.kill(pid, signal.SIGKILL)
            proc.wait()
    text = log_path.read_text()
    assert proc.returncode == 0, text[-3000:]
    assert "restarting it" not in text and "Traceback" not in text, text[-3000:]


def test_a_worker_restarted_while_the_directory_is_down_takes_no_connection_before_it_can(
        tmp_path: Path, pg_cluster: PgCluster, pg_directory_dsn: str) -> None:
    """A restarted worker joined the port (``SO_REUSEPORT``) before opening its storage, up to 30 s
    while PostgreSQL was down: the connections the kernel handed it waited, then were reset, load
    balancers' probes included (a TLS review). The other worker serves them now."""
    dsn_file = tmp_path / "directory.dsn"
    dsn_file.write_text(pg_directory_dsn)
    dsn_file.chmod(0o600)
    config = tmp_path / "gateway.toml"
    config.write_text(f'[adapter]\nname = "postgres"\n[adapter.options]\ndsn_file = "{dsn_file}"\n')
    srv = Server(tmp_path / "data", "--config", str(config), "--processes", "2")
    srv.start()
    assert srv.proc is not None
    supervisor = srv.proc.pid
    try:
        first = children(supervisor)
        assert len(first) == 2
        pg_cluster.stop()
        try:
            os.kill(first[0], signal.SIGKILL)
            wait_until(lambda: len(children(supervisor)) == 2 and first[0] not in children(supervisor))
            for _ in range(16):  # fresh connections, spread over the port's sockets by the kernel
                with urllib.request.urlopen(f"{srv.origin}/healthz", timeout=5) as answer:
                    assert answer.status == 200
        finally:
            pg_cluster.start()
    finally:
        srv.stop()
