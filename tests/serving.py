"""Running the real ``vizmo-scim`` command in subprocesses, for tests of serve and the CLI."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from gateway.serving import STOP_SECONDS

PROBE = "/Users?filter=userName+eq+%22cf4d78e8-cc4f-4d5d-b8b9-183561c0104a%22"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Child process ids of ``pid``, read from /proc (field 4 of /proc/<pid>/stat is the parent)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=60)


class Server:
    """``vizmo-scim serve`` on a free loopback port."""

    def __init__(self, data_dir: Path, *extra: str, data_dir_flag: bool = True, cwd: Path | None = None,
                 env: dict[str, str] | None = None, tls: ssl.SSLContext | None = None,
                 launcher: tuple[str, ...] = ("-m", "gateway.cli")) -> None:
        self.data_dir = data_dir
        self.launcher = launcher  # what follows the interpreter, before ``serve``
        self.extra = extra
        self.data_dir_flag = data_dir_flag  # False: the data directory comes from --config
        self.cwd = cwd
        self.env = env
        self.tls = tls  # a client context trusting the server's certificate: serve HTTPS
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.banner = ""

    def start(self) -> None:
        self.log_path = self.data_dir.parent / f"serve-{time.monotonic_ns()}.log"
        with open(self.log_path, "w") as log:  # a file, not a pipe: a full pipe would block the server
            where = ["--data-dir", str(self.data_dir)] if self.data_dir_flag else []
            self.proc = subprocess.Popen(
                [sys.executable, *self.launcher, "serve", *where, "--port", str(self.port), *self.extra],
                stdout=subprocess.PIPE, stderr=log, text=True, errors="surrogateescape", cwd=self.cwd, env=self.env)
        assert self.proc.stdout is not None
        self.banner = self.proc.stdout.readline()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # the port listens before a worker serves: ask one
            try:
                with urllib.request.urlopen(f"{self.origin}/healthz", timeout=0.5, context=self.tls):
                    return
            except (OSError, urllib.error.URLError):
                time.sleep(0.05)
        raise AssertionError(f"server did not start: {self.banner}")

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM) -> str:
        """Send ``sig``, wait for the exit, and return what the server logged. A SIGTERM or
        SIGINT must end in a clean exit (0) within the gateway's own stop limit."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.communicate(timeout=STOP_SECONDS + 15)
        log = self.log_path.read_text(errors="surrogateescape")  # (a path printed as its bytes)
        if sig in (signal.SIGTERM, signal.SIGINT):
            assert self.proc.returncode == 0, f"serve exited {self.proc.returncode} after {sig!r}:\n{log[-4000:]}"
        return log

    def request(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.origin}/scim/v2/locations/1{path}", data=data,
                                     method=method, headers={"Authorization": f"Bearer {token}",
                                                             "Content-Type": "application/scim+json"})
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.tls) as resp:
                text = resp.read().decode()
                return resp.status, json.loads(text) if text else None
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read().decode() or "null")


def first_serve(data_dir: Path, *extra: str) -> None:
    """Start ``vizmo-scim serve`` once and stop it: what a deployment's first start creates (the data
    folder, the demo directory, the signing key, ``served-config.json``), which every other
    command needs and never creates (issue 17 §1)."""
    server = Server(data_dir, *extra)
    server.start()
    server.stop()


def add_integration(data_dir: Path, location: int = 1, *extra: str) -> dict[str, Any]:
    """``vizmo-scim integration add --json``: the Tenant URL and Secret Token of a location."""
    result = cli("integration", "add", "--data-dir", str(data_dir), "--location", str(location), "--json",
                 "--base-url", "https://scim.example.com", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def self_signed(folder: Path, name: str = "server", days: int = 1,
                key: tuple[str, ...] = ("-newkey", "rsa:2048")) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 valid ``days`` days and its key, made by ``openssl``:
    ``(folder/NAME-cert.pem, folder/NAME-key.pem)``."""
    cert, key_file = folder / f"{name}-cert.pem", folder / f"{name}-key.pem"
    subprocess.run(["openssl", "req", "-x509", *key, "-nodes", "-days", str(days),
                    "-subj", f"/CN=127.0.0.1/O={name}", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key_file), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key_file
