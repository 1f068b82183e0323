"""Secret Tokens: HS256 JWTs bound to one location, carrying a token id (``jti``) for revocation.

The signing key is generated on first use and kept in the data directory, readable by the
owner only. Tokens carry no expiry: Note: Entra ID quarantines a provisioning job whose token
expires, so a Secret Token must be perpetual; rotation and removal revoke it instead.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import jwt

ISSUER = "vizmo-scim"
KEY_FILE = "signing-key"
_ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token says: its location and its id."""

    location_id: str
    token_id: str


class InvalidToken(Exception):
    """The token is malformed, has a bad signature or lacks the claims we issue."""


def load_or_create_key(data_dir: Path) -> bytes:
    """Read the signing key, creating it (0600, 256 random bits) on first use."""
    path = data_dir / KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    else:
        key = secrets.token_bytes(32)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key.hex() + "\n")
    if len(key) < 32:
        raise ValueError(f"signing key in {path} is shorter than 256 bits")
    return key


class TokenCodec:
    """Issues and verifies Secret Tokens; verified signatures are cached (they never change)."""

    def __init__(self, key: bytes, *, cache_size: int = 4096) -> None:
        self._key = key
        self._kid = hashlib.sha256(key).hexdigest()[:16]
        self._verified: OrderedDict[bytes, TokenClaims] = OrderedDict()
        self._cache_size = cache_size

    def issue(self, location_id: int, token_id: str) -> str:
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
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from None
        location_id, token_id = claims.get("loc"), claims.get("jti")
        if not isinstance(location_id, str) or not isinstance(token_id, str):
            raise InvalidToken("claims of the wrong type")
        result = TokenClaims(location_id=location_id, token_id=token_id)
        self._verified[digest] = result
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return result
