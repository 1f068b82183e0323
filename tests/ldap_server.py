"""A real, throwaway OpenLDAP ``slapd`` for the LDAP adapter's tests.

One server per test session, on a free loopback port, with a ``slapd.conf`` and an mdb database
in a temporary directory (schemas core, cosine, inetorgperson and nis from ``/etc/ldap/schema``).
Each test gets its own empty base DN under the suffix (``ou=t<n>,dc=vizmo,dc=test``) holding
``ou=locations`` with the locations ``ou=1`` and ``ou=2``, so tests never see each other's data.

Needs the Debian packages ``slapd`` and ``ldap-utils``::

    DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils

Without ``slapd`` the fixtures fail with that instruction (they do not skip: a missing server
must not turn the LDAP tests green).
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.ldap.client import ldap3  # imported there without pyasn1's deprecation warnings

SUFFIX = "dc=vizmo,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIRS = (Path("/usr/lib/ldap"), Path("/usr/lib/openldap"), Path("/usr/local/libexec/openldap"))
INSTALL_HINT = "install it with: DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils"


def _find(program: str) -> str:
    found = shutil.which(program) or next(
        (str(p) for p in (Path("/usr/sbin") / program, Path("/usr/local/sbin") / program) if p.exists()), None)
    if found is None:
        pytest.fail(f"the LDAP adapter tests need OpenLDAP's {program!r}; {INSTALL_HINT}", pytrace=False)
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(root: Path, password: str, database_lines: str = "") -> str:
    module_dir = next((d for d in MODULE_DIRS if (d / "back_mdb.so").exists() or (d / "back_mdb.la").exists()), None)
    modules = f"modulepath {module_dir}\nmoduleload back_mdb\n" if module_dir else ""
    schemas = "".join(f"include {SCHEMA_DIR / name}.schema\n" for name in ("core", "cosine", "inetorgperson", "nis"))
    return (
        f"{schemas}pidfile {root / 'slapd.pid'}\nargsfile {root / 'slapd.args'}\n{modules}"
        "sizelimit 500\n"
        f"database mdb\nmaxsize 268435456\nsuffix \"{SUFFIX}\"\nrootdn \"{ROOT_DN}\"\n"
        f"rootpw {password}\ndirectory {root / 'db'}\n"
        "index objectClass eq\nindex mail eq,sub\nindex entryUUID eq\nindex uid eq\nindex employeeType eq\n"
        f"{database_lines}"
    )


@dataclass
class SlapdServer:
    """A running slapd: its URL, suffix and root credentials (the password is in a 0600 file)."""

    url: str
    port: int
    root: Path
    password: str
    password_file: Path
    process: subprocess.Popen[bytes]
    _counter: Any = None

    def connect(self) -> ldap3.Connection:
        """A synchronous root connection (the tests' view of the directory, "as an admin would")."""
        server = ldap3.Server("127.0.0.1", port=self.port, get_info=ldap3.NONE)
        return ldap3.Connection(server, ROOT_DN, self.password, auto_bind=True, raise_exceptions=True)

    def new_base(self, locations: tuple[str, ...] = ("1", "2")) -> str:
        """A fresh, empty base DN ``ou=locations,ou=t<n>,<suffix>`` with one OU per location."""
        if self._counter is None:
            self._counter = itertools.count(1)
        container = f"ou=t{next(self._counter)},{SUFFIX}"
        base = f"ou=locations,{container}"
        conn = self.connect()
        try:
            for dn in (container, base, *(f"ou={loc},{base}" for loc in locations)):
                conn.add(dn, ["organizationalUnit"], {"ou": dn.split(",", 1)[0][3:]})
        finally:
            conn.unbind()
        return base

    def options(self, base_dn: str, **extra: Any) -> dict[str, Any]:
        """Adapter options for this server (the password comes from the file)."""
        return {"url": self.url, "base_dn": base_dn, "bind_dn": ROOT_DN,
                "bind_password_file": str(self.password_file), **extra}


def _wait_ready(process: subprocess.Popen[bytes], port: int, password: str, deadline: float) -> bool:
    """Wait until slapd accepts TCP connections, then check that the root DN can bind."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        return False
    conn = ldap3.Connection(ldap3.Server("127.0.0.1", port=port, get_info=ldap3.NONE, connect_timeout=5),
                            ROOT_DN, password, receive_timeout=5)
    try:
        return bool(conn.bind())
    except ldap3.core.exceptions.LDAPException:
        return False
    finally:
        conn.unbind()


def start_slapd(database_lines: str = "") -> SlapdServer:
    """Start a throwaway slapd (three tries on fresh ports); the caller must ``stop_slapd`` it.
    ``database_lines``: more of the database's ``slapd.conf`` directives (``limits``, ``access``)."""
    slapd, slapadd = _find("slapd"), _find("slapadd")
    if not (SCHEMA_DIR / "inetorgperson.schema").exists():
        pytest.fail(f"no OpenLDAP schemas in {SCHEMA_DIR}; {INSTALL_HINT}", pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="vizmo-slapd-"))
    password = secrets.token_urlsafe(24)
    password_file = root / "bind-password"
    password_file.write_text(password + "\n", encoding="utf-8")
    os.chmod(password_file, 0o600)
    conf = root / "slapd.conf"
    conf.write_text(_config(root, password, database_lines), encoding="utf-8")
    (root / "db").mkdir()
    base = (f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: vizmo\no: Vizmo test\n\n")
    subprocess.run([slapadd, "-f", str(conf), "-b", SUFFIX], input=base.encode(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    errors = ""
    for _ in range(3):
        port = _free_port()
        url = f"ldap://127.0.0.1:{port}"
        log = open(root / "slapd.log", "wb")
        process = subprocess.Popen([slapd, "-f", str(conf), "-h", f"{url}/", "-d", "0"],
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        if _wait_ready(process, port, password, time.monotonic() + 20):
            return SlapdServer(url, port, root, password, password_file, process)
        process.kill()
        process.wait(timeout=10)
        errors = (root / "slapd.log").read_text(errors="replace")[-2000:]
    shutil.rmtree(root, ignore_errors=True)
    pytest.fail(f"slapd did not start:\n{errors}", pytrace=False)


def respawn_slapd(server: SlapdServer) -> SlapdServer:
    """SIGKILL the server, then start it again on the same port, files and configuration (a
    directory server's crash and restart); the caller must ``stop_slapd`` the one returned."""
    server.process.kill()
    server.process.wait(timeout=15)
    with open(server.root / "slapd.log", "ab") as log:
        process = subprocess.Popen([_find("slapd"), "-f", str(server.root / "slapd.conf"), "-h", f"{server.url}/",
                                    "-d", "0"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if not _wait_ready(process, server.port, server.password, time.monotonic() + 20):
        process.kill()
        pytest.fail("slapd did not start again", pytrace=False)
    return SlapdServer(server.url, server.port, server.root, server.password, server.password_file, process)


def stop_slapd(server: SlapdServer) -> None:
    """Stop the server and remove its files."""
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=15)
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def slapd_server() -> Iterator[SlapdServer]:
    """One slapd for the whole test session."""
    server = start_slapd()
    try:
        yield server
    finally:
        stop_slapd(server)


@pytest.fixture
def ldap_base(slapd_server: SlapdServer) -> str:
    """A fresh base DN (``ou=locations,...``) with locations ``1`` and ``2``, for one test."""
    return slapd_server.new_base()
