"""The HTTPS certificate over its life, through the real ``vizmo-scim serve``: its expiry warned
about, a renewal on disk (new certificate and key files) served to new connections by every
worker without a restart, and a pair that does not match refused while the one in use stays."""

from __future__ import annotations

import os
import socket
import ssl
import time
from pathlib import Path

from gateway.certificates import EXPIRY_WARNING_DAYS, expiry_warning
from tests.serving import Server, cli, self_signed
from tests.polling import wait_until

DAY = 86_400.0


def _der(cert: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(cert.read_text())


def _served(port: int) -> bytes:
    return ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port), timeout=5))


def _install(source: tuple[Path, Path], target: tuple[Path, Path]) -> None:
    """What a renewal does: each file replaced whole, the certificate first."""
    for src, dst in zip(source, target):
        staged = dst.with_suffix(".new")
        staged.write_bytes(src.read_bytes())
        os.replace(staged, dst)


def test_the_expiry_is_told_from_the_certificates_own_dates(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path, "day", days=1)
    year, _ = self_signed(tmp_path, "year", days=365)
    now = time.time() + 5  # both valid from a second of the past (their notBefore)
    soon = expiry_warning(cert, now)
    assert soon is not None and f"the certificate {cert} expires on " in soon and "in 1 day(s)" in soon
    expired = expiry_warning(cert, now + 2 * DAY)
    assert expired is not None and "expired on" in expired and "refuse the connection" in expired
    early = expiry_warning(cert, now - 2 * DAY)
    assert early is not None and "is not valid before" in early
    assert expiry_warning(year, now) is None
    assert expiry_warning(year, now + (365 - EXPIRY_WARNING_DAYS + 1) * DAY) is not None
    assert expiry_warning(tmp_path / "missing.pem", now) is None


def test_a_renewed_certificate_is_served_by_every_worker_without_a_restart(tmp_path: Path,
                                                                            servers: list[Server]) -> None:
    live = (tmp_path / "cert.pem", tmp_path / "key.pem")
    _install(self_signed(tmp_path, "first"), live)
    server = Server(tmp_path / "data", "--certfile", str(live[0]), "--keyfile", str(live[1]), "--processes", "2",
                    tls=ssl.create_default_context(cafile=str(live[0])))
    servers.append(server)
    server.start()
    assert "expires on" in server.log_path.read_text()  # a one-day certificate is warned about at start
    first = _der(live[0])
    assert _served(server.port) == first

    renewed = self_signed(tmp_path, "renewed", days=365)
    _install(renewed, live)
    wait_until(lambda: server.log_path.read_text().count("loaded the renewed certificate") == 2)  # both workers
    assert all(_served(server.port) == _der(renewed[0]) for _ in range(12))

    mismatched = (self_signed(tmp_path, "third")[0], renewed[1])  # a new certificate, the old key
    _install(mismatched, live)
    wait_until(lambda: server.log_path.read_text().count("kept the certificate in use") == 2)
    assert "key values mismatch" in server.log_path.read_text() or "cannot use the certificate" in \
        server.log_path.read_text()
    assert all(_served(server.port) == _der(renewed[0]) for _ in range(12))
    assert server.proc is not None and server.proc.poll() is None


def test_a_certificate_renewed_with_another_key_type_replaces_the_old_one(tmp_path: Path,
                                                                          servers: list[Server]) -> None:
    """certbot makes ECDSA keys by default: loading the renewed pair into the context in use kept
    the old RSA certificate beside it (OpenSSL holds one per key type), still served to clients
    that ask for RSA (a security review). The renewed pair is a context of its own."""
    live = (tmp_path / "cert.pem", tmp_path / "key.pem")
    _install(self_signed(tmp_path, "rsa"), live)
    server = Server(tmp_path / "data", "--certfile", str(live[0]), "--keyfile", str(live[1]),
                    tls=ssl.create_default_context(cafile=str(live[0])))
    servers.append(server)
    server.start()
    old = _der(live[0])
    renewed = self_signed(tmp_path, "ecdsa", days=365,
                           key=("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"))
    _install(renewed, live)
    wait_until(lambda: "loaded the renewed certificate" in server.log_path.read_text())
    assert _served(server.port) == _der(renewed[0])
    rsa_only = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    rsa_only.check_hostname, rsa_only.verify_mode = False, ssl.CERT_NONE
    rsa_only.maximum_version = ssl.TLSVersion.TLSv1_2
    rsa_only.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            with rsa_only.wrap_socket(raw) as tls:
                shown = tls.getpeercert(binary_form=True)
    except ssl.SSLError:
        shown = None  # no RSA certificate any more: the handshake fails
    assert shown != old


def test_check_config_warns_about_an_expiring_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "day", days=1)
    config = tmp_path / "gateway.toml"
    config.write_text(f'[server]\ncertfile = "{cert}"\nkeyfile = "{key}"\n', encoding="utf-8")
    checked = cli("check-config", str(config))
    assert checked.returncode == 0 and checked.stdout.startswith(f"{config}: valid")
    assert checked.stderr.startswith(f"{config}: warning: the certificate {cert} expires on "), checked.stderr
