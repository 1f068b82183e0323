"""Operator passwords: scrypt (RFC 7914) in a self-describing string, verified in constant time."""

from __future__ import annotations

import base64
import hashlib

import pytest

from gateway.admin.passwords import (PasswordError, check_new_password, hash_password, verify_password)

PASSWORD = "correct horse battery staple"


def test_the_stored_form_names_scrypt_its_parameters_and_a_fresh_salt() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second  # a new salt every time
    scheme, params, salt, digest = first.split("$")
    assert (scheme, params) == ("scrypt", "n=32768,r=8,p=1")
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    expected = hashlib.scrypt(PASSWORD.encode(), salt=base64.b64decode(salt), n=32768, r=8, p=1,
                              maxmem=64 * 1024 * 1024, dklen=32)
    assert base64.b64decode(digest) == expected
    assert PASSWORD not in first


def test_only_the_password_verifies() -> None:
    stored = hash_password(PASSWORD)
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + " ", stored)
    assert not verify_password(PASSWORD.upper(), stored)
    assert not verify_password("", stored)


def test_older_parameters_still_verify() -> None:
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=1024, r=8, p=1, dklen=32)
    stored = f"scrypt$n=1024,r=8,p=1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert verify_password(PASSWORD, stored)


@pytest.mark.parametrize("stored", [
    "", "plain text", "scrypt$n=32768,r=8,p=1$$", "pbkdf2$n=1,r=1,p=1$AAAA$AAAA",
    "scrypt$n=1000,r=8,p=1$AAAA$AAAA",            # n not a power of two
    "scrypt$n=2147483648,r=8,p=1$AAAA$AAAA",      # a tampered row must not claim gigabytes
    "scrypt$n=1024,r=64,p=1$AAAA$AAAA",
])
def test_a_malformed_or_extravagant_hash_never_matches(stored: str) -> None:
    assert not verify_password(PASSWORD, stored)


def test_new_passwords_are_at_least_12_and_at_most_1024_characters() -> None:
    check_new_password("xy" * 6)
    check_new_password("xy" * 512)
    for bad in ("", "xy" * 5 + "x", "xy" * 512 + "z"):
        with pytest.raises(PasswordError):
            check_new_password(bad)


@pytest.mark.parametrize("repeated", [" " * 12, "x" * 12, "\t" * 40])
def test_a_password_of_one_repeated_character_is_refused(repeated: str) -> None:
    with pytest.raises(PasswordError, match="one character repeated"):
        check_new_password(repeated)
