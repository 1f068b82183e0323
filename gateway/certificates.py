"""The HTTPS certificate: the TLS context, its expiry, and its renewal while the gateway serves.

Certificates are renewed on disk (certbot every 60 days, a secret store's rotation) by replacing
``certfile`` and ``keyfile``. Each worker looks at both files every :data:`CHECK_SECONDS`; once
they have changed and stayed unchanged for one more look (a renewal writes two files, one after
the other), it builds a new ``SSLContext`` from them on a thread and gives it to its server for
the connections it accepts from then on: open ones keep theirs, nothing restarts. A pair that does
not load (a key that does not match its certificate) is a WARNING and the certificate in use
stays. (Loading into the context in use instead kept an RSA certificate beside a renewed ECDSA
one, since OpenSSL keeps one per key type, and a load failing half-way left it without a key; a
key file that was a FIFO held the event loop: a security review.)

Expiry is read with ``ssl._ssl._test_decode_cert``, the one way the standard library has to read
a certificate file's dates (the ``cryptography`` package would be a dependency for a date); if a
Python lacks it, no expiry is reported and everything else works.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
from collections.abc import Callable
from pathlib import Path

from gateway.config import ConfigError, GatewayConfig
from gateway.permissions import exposure, warn_exposed

log = logging.getLogger("vizmo_scim.app")

#: How often each worker looks at the certificate and key files.
CHECK_SECONDS = 2.0

#: A certificate expiring within this many days is warned about, at start and on each reload.
EXPIRY_WARNING_DAYS = 14

_FileState = tuple[tuple[int, int, int, int], ...]


class _EncryptedKey(Exception):
    """The TLS key needs a passphrase."""


def _no_passphrase() -> bytes:
    raise _EncryptedKey()


def tls_context(config: GatewayConfig) -> ssl.SSLContext | None:
    """HTTPS with ``certfile`` and ``keyfile``: TLS 1.2 at least (Note: Entra ID's provisioning
    service requires TLS 1.2 or later), the default cipher choice of Python's ``ssl``."""
    if config.certfile is None or config.keyfile is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load(context, config.certfile, config.keyfile)
    return context


def _load(context: ssl.SSLContext, certfile: Path, keyfile: Path) -> None:
    try:
        # A passphrase is never asked for: a prompt on the terminal, once per process, would
        # hang a service with none, and a restarted worker would ask again with nobody there.
        context.load_cert_chain(str(certfile), str(keyfile), password=_no_passphrase)
    except _EncryptedKey:
        raise ConfigError(f"the key {keyfile} is encrypted (passphrase-protected), and the gateway asks "
                          "for no passphrase: give it the key decrypted (openssl pkey -in KEY -out PLAIN), "
                          "readable by its user only") from None
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot use the certificate {certfile} with the key {keyfile}: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None


def expiry_warning(certfile: Path, now: float | None = None) -> str | None:
    """What to warn about the certificate's validity dates: expired, not valid yet, or expiring
    within :data:`EXPIRY_WARNING_DAYS`; None when it is fine or its dates cannot be read."""
    try:
        decoded = ssl._ssl._test_decode_cert(str(certfile))  # type: ignore[attr-defined]
        not_before = ssl.cert_time_to_seconds(decoded["notBefore"])
        not_after = ssl.cert_time_to_seconds(decoded["notAfter"])
    except (AttributeError, KeyError, ValueError, OSError, ssl.SSLError):
        return None
    now = time.time() if now is None else now
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(not_after))
    if not_after <= now:
        return (f"the certificate {certfile} expired on {until}: clients (Entra ID, Okta) refuse the connection; "
                "renew it (the gateway loads renewed files by itself)")
    if not_before > now:
        since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(not_before))
        return f"the certificate {certfile} is not valid before {since}: clients refuse the connection until then"
    days = (not_after - now) / 86_400
    if days < EXPIRY_WARNING_DAYS:
        return (f"the certificate {certfile} expires on {until}, in {days:.0f} day(s): renew it (the gateway "
                "loads renewed files by itself)")
    return None


def _state(*paths: Path) -> _FileState | None:
    try:
        return tuple((s.st_ino, s.st_mtime_ns, s.st_size, s.st_ctime_ns) for s in (os.stat(p) for p in paths))
    except OSError:
        return None


class CertificateReloader:
    """Gives a worker's server a new TLS context when its certificate and key files are renewed."""

    def __init__(self, config: GatewayConfig, install: Callable[[ssl.SSLContext], None],
                 check_seconds: float = CHECK_SECONDS) -> None:
        assert config.certfile is not None and config.keyfile is not None
        self._config, self._install, self._check_seconds = config, install, check_seconds
        self._files = (config.certfile, config.keyfile)
        self._loaded = self._seen = _state(*self._files)
        self._refused: _FileState | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._check_seconds)
            await self._reload_if_renewed()

    async def _reload_if_renewed(self) -> None:
        state = await asyncio.to_thread(_state, *self._files)  # never a file operation on the loop
        if state is None or state == self._loaded or state == self._refused:
            return
        if state != self._seen:  # changed since the last look: wait until both files are written
            self._seen = state
            return
        try:
            context = await asyncio.to_thread(tls_context, self._config)
        except ConfigError as exc:
            self._refused = state
            log.warning("kept the certificate in use: %s", exc)
            return
        assert context is not None
        self._install(context)
        self._loaded = state
        log.info("loaded the renewed certificate %s for new connections", self._config.certfile)
        warning = expiry_warning(self._files[0])
        if warning is not None:
            log.warning("%s", warning)
        exposed = exposure(self._files[1])  # the renewed key, checked as serve checks it at start
        if exposed is not None:
            warn_exposed(exposed)
