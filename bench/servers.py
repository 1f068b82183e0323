"""The server subprocesses of a benchmark run: the real gateway and the ceiling, on loopback.

Each runs in its own session (a Ctrl-C in the terminal reaches only the benchmark, which then
stops them in order) and logs to a file, never to a pipe nobody reads.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Sequence

HOST = "127.0.0.1"
#: Every benchmark gateway: the per-location rate limit (default 200/s per worker, far above Entra's
#: 25/s but far below a benchmark's load) raised so it is checked on every request but never
#: refuses one, and every answer is about what is measured.
RATE_LIMIT_ARGS = ("--rate-limit", "100000", "--rate-burst", "100000")
ROOT = Path(__file__).resolve().parent.parent


class ServerError(Exception):
    """A server did not start."""


def commit() -> str:
    """The checkout's commit (``git rev-parse --short HEAD``; "+changes" when the tree differs)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def child_env() -> dict[str, str]:
    """The environment without ``VIZMO_SCIM_*`` (flags decide), with this checkout importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIZMO_SCIM_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


class ServerProcess:
    """One server subprocess; ``with`` starts it and waits until ``ready_path`` answers 200."""

    def __init__(self, name: str, argv: list[str], port: int, ready_path: str, log_path: Path) -> None:
        self.name, self.argv, self.port = name, argv, port
        self.ready_path, self.log_path = ready_path, log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def log_size(self) -> int:
        """Bytes logged so far (to read what one wrk run caused)."""
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def start(self, timeout: float = 60.0) -> None:
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(self.argv, cwd=ROOT, env=child_env(), stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready(self._proc, timeout)
        except BaseException:  # not ready, or Ctrl-C meanwhile: never leave it running
            self.stop()
            raise

    def _wait_ready(self, proc: "subprocess.Popen[bytes]", timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ServerError(f"{self.name} exited with {proc.returncode}:\n{self.log_tail()}")
            if self._answers():
                return
            time.sleep(0.1)
        raise ServerError(f"{self.name} did not answer {self.ready_path} within {timeout:.0f} s:\n{self.log_tail()}")

    def _answers(self) -> bool:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
        try:
            conn.request("GET", self.ready_path)
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (both servers stop gracefully on it), then SIGKILL if it lingers."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the server's process group (its workers too), without waiting."""
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signum)

    def wait_exit(self, timeout: float) -> int | None:
        """The exit status once the server has exited (None: still running after ``timeout``);
        the server counts as stopped afterwards, and ``start`` starts it again on its port."""
        proc = self._proc
        if proc is None:
            return None
        try:
            status = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._proc = None
        return status

    def probe(self, path: str) -> int | None:
        """The status of ``GET path`` (None: no answer)."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
        try:
            conn.request("GET", path)
            return conn.getresponse().status
        except OSError:
            return None
        finally:
            conn.close()

    def wait_idle(self, quiet: float = 0.5, timeout: float = 30.0) -> None:
        """Wait until the log stops growing: requests wrk left queued when it stopped are
        finished before the next measurement (or before the server is stopped)."""
        deadline = time.monotonic() + timeout
        size, since = self.log_size(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now_size = self.log_size()
            if now_size != size:
                size, since = now_size, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> "ServerProcess":
        self.start()
        return self

    def __exit__(self, typ: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def gateway(data_dir: Path, log_path: Path, *, processes: int = 1, config: Path | None = None,
            extra_args: Sequence[str] = (), port: int | None = None) -> ServerProcess:
    """``python -m gateway.cli serve [--config FILE] --data-dir DATA_DIR --port <free port>
    --processes N [EXTRA_ARGS...]`` on 127.0.0.1 (N workers share the port)."""
    port = port or free_port()
    argv = [sys.executable, "-m", "gateway.cli", "serve", *(["--config", str(config)] if config else []),
            "--data-dir", str(data_dir), "--host", HOST, "--port", str(port), "--processes", str(processes),
            *extra_args]
    return ServerProcess("gateway", argv, port, "/healthz", log_path)


_USAGE_ERROR = re.compile(r"^\S+: error: (.+)$", re.MULTILINE)


def usage_error(text: str) -> str | None:
    """The complaint of an argparse usage error in a server's output (``vizmo-scim serve:
    error: unrecognized arguments: --log-format json``), or None."""
    if "usage:" not in text:
        return None
    found = _USAGE_ERROR.search(text)
    return found.group(1).strip() if found else None


def ceiling(log_path: Path, *, processes: int = 1) -> ServerProcess:
    """The bare Tornado handler (``bench/ceiling.py``) on 127.0.0.1, with as many workers as the gateway."""
    port = free_port()
    argv = [sys.executable, str(ROOT / "bench" / "ceiling.py"), "--host", HOST, "--port", str(port),
            "--processes", str(processes)]
    return ServerProcess("ceiling", argv, port, "/", log_path)
