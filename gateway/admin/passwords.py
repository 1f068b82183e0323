"""Operator passwords: hashed with scrypt (RFC 7914), a memory-hard function from the standard
library (``hashlib.scrypt``), stored as one self-describing string::

    scrypt$n=32768,r=8,p=1$<salt, base64>$<hash, base64>

so that the cost can be raised later while older hashes still verify. Verification compares
in constant time (``hmac.compare_digest``). Hashing costs tens of milliseconds of CPU and
32 MiB of memory on purpose: callers on an event loop run it on a thread (:func:`verify_async`).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import re
import secrets

#: scrypt's cost: N = 2^15, r = 8 (128·N·r bytes = 32 MiB of memory per hash), p = 1, the
#: parameters RFC 7914 §2 and OWASP's Password Storage Cheat Sheet name for interactive logins.
N, R, P = 2**15, 8, 1
SALT_BYTES = 16
HASH_BYTES = 32
#: A password longer than this is refused before it is hashed (the work grows with its length).
MAX_PASSWORD_CHARS = 1024
MIN_PASSWORD_CHARS = 12
_FORMAT = re.compile(r"scrypt\$n=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)")
#: Bounds on the parameters a stored hash may name (a tampered row must not exhaust memory).
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 16


class PasswordError(ValueError):
    """A password that cannot be used (too short, too long); the message says why."""


def check_new_password(password: str) -> None:
    """Refuse a password an operator may not choose: shorter than 12 or longer than 1,024 characters,
    or one character repeated (12 spaces were accepted, found by fuzzing; NIST SP 800-63B §5.1.1.2
    asks to refuse repetitive passwords, and sets no other composition rule)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise PasswordError(f"the password must be at least {MIN_PASSWORD_CHARS} characters long")
    if len(password) > MAX_PASSWORD_CHARS:
        raise PasswordError(f"the password must be at most {MAX_PASSWORD_CHARS} characters long")
    if len(set(password)) == 1:
        raise PasswordError("the password must not be one character repeated")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p,
                          maxmem=2 * 128 * n * r * p + 1024 * 1024, dklen=length)


def hash_password(password: str) -> str:
    """The stored form of ``password``: a fresh random salt, the current parameters."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, N, R, P, HASH_BYTES)
    b64 = base64.b64encode
    return f"scrypt$n={N},r={R},p={P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (a malformed ``stored`` never matches)."""
    match = _FORMAT.fullmatch(stored)
    if match is None or len(password) > MAX_PASSWORD_CHARS:
        return False
    n, r, p = (int(match.group(i)) for i in (1, 2, 3))
    if not (2 <= n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P):
        return False
    salt, expected = base64.b64decode(match.group(4)), base64.b64decode(match.group(5))
    if not expected:
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(expected)), expected)


@functools.cache
def _decoy() -> str:
    """Verified when the account does not exist, so that an unknown name costs what a wrong
    password costs (the answer's timing does not tell which names exist). Made once, on first use."""
    return hash_password(secrets.token_urlsafe(24))


async def verify_async(password: str, stored: str | None) -> bool:
    """:func:`verify_password` on a worker thread (never on the event loop); ``stored`` None
    checks against a decoy hash and is always False."""
    if stored is None:
        await asyncio.to_thread(lambda: verify_password(password, _decoy()))
        return False
    return await asyncio.to_thread(verify_password, password, stored)
