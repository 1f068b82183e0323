"""Secret Tokens: HS256 JWTs bound to one location, carrying a token id (``jti``) for revocation.

The signing key is generated on first use and kept in the data directory, readable by the
owner only, unless the deployment hands every host one key from its secret store (``[tokens]``
settings; :mod:`gateway.signing_keys` chooses the key and checks that every host has the same).
Tokens carry no expiry: Note: Entra ID quarantines a provisioning job whose token expires, so a
Secret Token must be perpetual; rotation and removal revoke it instead.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import jwt

from gateway.config import ConfigError

ISSUER = "vizmo-scim"
KEY_FILE = "signing-key"
_ALGORITHM = "HS256"
#: The shortest key accepted: 256 bits, HS256's own output size (RFC 7518 §3.2).
MIN_KEY_BYTES = 32
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
#: What a key id is an HMAC of: a fixed label, so that the id is no hash of the key alone.
_KEY_ID_LABEL = b"vizmo-scim token-signing key id"


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says: its location and its id."""

    location_id: str
    token_id: str


class InvalidToken(Exception):
    """The token is malformed, has a bad signature or lacks the claims we issue; ``reason`` says
    which, for the log and the metrics, never for the client (RFC 6750 §3.1):
    ``malformed``, ``other_key`` (signed by another gateway's key), ``bad_signature``, ``claims``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SigningKeyError(ConfigError):
    """A signing key that cannot be used (missing, malformed, too short, exposed, or not the
    deployment's). The message names where the key is, never its value."""


def key_id(key: bytes) -> str:
    """The key's public id: the first 64 bits of HMAC-SHA256(key, a fixed label), in hex.

    It tells keys apart (the ``kid`` of every token, and the id recorded in the shared state)
    and reveals nothing usable about the key: HMAC is a pseudo-random function, so its output
    under a 256-bit random key gives no information on the key, no token can be forged from it
    (a token's signature is a full HMAC over other data), and testing a guessed key against it
    is no easier than against any token the key signed."""
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def parse_key(text: str, where: str) -> bytes:
    """The key written as hexadecimal digits in ``text`` (surrounding white space ignored);
    :class:`SigningKeyError` naming ``where`` unless it is hex of at least 256 bits."""
    text = text.strip()
    if _HEX.fullmatch(text) is None:
        raise SigningKeyError(f"the token-signing key in {where} is not hexadecimal: write it as an even number "
                              f"of hex digits, at least {2 * MIN_KEY_BYTES} (e.g. the output of "
                              f"'openssl rand -hex {MIN_KEY_BYTES}')")
    key = bytes.fromhex(text)
    if len(key) < MIN_KEY_BYTES:
        raise SigningKeyError(f"the token-signing key in {where} is shorter than {8 * MIN_KEY_BYTES} bits "
                              f"({2 * MIN_KEY_BYTES} hex digits): make one with 'openssl rand -hex {MIN_KEY_BYTES}'")
    return key


def load_or_create_key(data_dir: Path) -> bytes:
    """Read ``DATA_DIR/signing-key``, creating it (0600, 256 random bits) when it is missing.

    Creation is atomic: the key is written and synced under a temporary name, then linked to
    its final name, which fails if another process got there first (this one then reads that
    key). A concurrent reader never sees a half-written file, and every process of a host that
    starts at once ends up with one key."""
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        return read_key_text(path)
    except FileNotFoundError:
        pass
    tmp = data_dir / f".{KEY_FILE}.{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_bytes(MIN_KEY_BYTES).hex() + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: use that one
    finally:
        tmp.unlink(missing_ok=True)
    return read_key_text(path)


def read_key_text(path: Path) -> bytes:
    """The hex key in the file ``path``; ``FileNotFoundError`` if it is missing, else
    :class:`SigningKeyError` naming the file when it cannot be read or is malformed."""
    try:
        text = path.read_bytes().decode("ascii", errors="replace")
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SigningKeyError(f"cannot read the token-signing key file {path}: {exc.strerror}") from None
    return parse_key(text, str(path))


class TokenCodec:
    """Issues and verifies Secret Tokens; verified signatures are cached (they never change)."""

    def __init__(self, key: bytes, *, cache_size: int = 4096) -> None:
        self._key = key
        self._kid = key_id(key)
        self._verified: OrderedDict[bytes, TokenClaims] = OrderedDict()
        self._cache_size = cache_size

    def derived_secret(self, label: bytes) -> bytes:
        """A secret for another purpose, derived from the signing key: HMAC-SHA256(key, ``label``).

        Every process and host of a deployment has the same key, so each derives the same secret
        (the admin page's cookie secret, ``gateway/admin/routes.py``) without it being stored
        anywhere; a distinct label keeps it apart from the key id and from token signatures."""
        return hmac.new(self._key, label, hashlib.sha256).digest()

    def issue(self, location_id: int | str, token_id: str) -> str:
        claims = {"iss": ISSUER, "sub": f"location:{location_id}", "loc": str(location_id), "jti": token_id}
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM, headers={"kid": self._kid})

    def verify(self, token: str) -> TokenClaims:
        """Check the signature (pyjwt compares HMACs in constant time) and the claims.

        The cache is keyed by the token's SHA-256, so a lookup reveals nothing about the key.
        """
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        cached = self._verified.get(digest)
        if cached is not None:
            return cached
        try:
            claims = jwt.decode(token, self._key, algorithms=[_ALGORITHM], issuer=ISSUER,
                                options={"require": ["iss", "loc", "jti"], "verify_exp": True})
        except jwt.InvalidSignatureError:
            raise InvalidToken(self._signature_failure(token)) from None
        except jwt.DecodeError:
            raise InvalidToken("malformed") from None
        except jwt.PyJWTError:
            raise InvalidToken("claims") from None
        location_id, token_id = claims.get("loc"), claims.get("jti")
        if not isinstance(location_id, str) or not isinstance(token_id, str):
            raise InvalidToken("claims")
        result = TokenClaims(location_id=location_id, token_id=token_id)
        self._verified[digest] = result
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return result

    def _signature_failure(self, token: str) -> str:
        """``other_key`` when the token names another key id (a token of another gateway, or of
        this one before its key was replaced), else ``bad_signature``."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return "malformed"
        return "other_key" if isinstance(kid, str) and kid != self._kid else "bad_signature"
