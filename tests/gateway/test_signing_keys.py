"""The token-signing key in-process: its public id, where it is read from, and the check against
the id the shared state records (a real SQLite state store file; the multi-host runs of real
gateways are in ``tests/http/test_signing_key.py``)."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from pathlib import Path

import jwt
import pytest

from adapters.sqlite_state import SqliteStateStore
from gateway.config import GatewayConfig
from gateway.signing_keys import SigningKey, claim_key, load_signing_key
from gateway.tokens import SigningKeyError, TokenCodec, key_id, load_or_create_key


def test_the_key_id_is_a_fingerprint_that_reveals_nothing_usable() -> None:
    key = secrets.token_bytes(32)
    kid = key_id(key)
    assert re.fullmatch("[0-9a-f]{16}", kid) and kid == key_id(key) != key_id(secrets.token_bytes(32))
    # an HMAC of a fixed label under the key, not a hash of the key that could stand in for it
    assert not hashlib.sha256(key).hexdigest().startswith(kid) and kid not in key.hex()
    token = TokenCodec(key).issue(1, "t")
    assert jwt.get_unverified_header(token)["kid"] == kid  # a token says which key signed it


def test_a_loaded_key_never_shows_in_its_repr(tmp_path: Path) -> None:
    key = load_signing_key(GatewayConfig(data_dir=tmp_path))
    assert key.secret.hex() not in repr(key) and key.key_id in repr(key)
    assert key.kind == "data_dir" and key.source == str(tmp_path / "signing-key")


def test_the_key_file_is_created_once_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    first = load_or_create_key(tmp_path)
    assert load_or_create_key(tmp_path) == first and len(first) == 32
    assert [p.name for p in tmp_path.iterdir()] == ["signing-key"]  # no temporary file left behind
    assert (tmp_path / "signing-key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("mode,accepted", [(0o600, True), (0o400, True), (0o640, True), (0o604, False),
                                           (0o602, False), (0o644, False)])
def test_a_configured_key_file_others_can_read_or_write_is_refused(tmp_path: Path, mode: int, accepted: bool) -> None:
    path = tmp_path / "signing.key"
    path.write_text(secrets.token_hex(32))
    path.chmod(mode)
    config = GatewayConfig(data_dir=tmp_path / "data", signing_key_file=path)
    if accepted:
        assert load_signing_key(config).kind == "file"
    else:
        with pytest.raises(SigningKeyError, match="readable or writable by other local users"):
            load_signing_key(config)
    assert not (tmp_path / "data").exists()


def test_a_key_from_the_environment(tmp_path: Path) -> None:
    hex_key = secrets.token_hex(40)  # longer than 256 bits is fine
    config = GatewayConfig(data_dir=tmp_path, signing_key_env="MY_KEY")
    key = load_signing_key(config, env={"MY_KEY": f"  {hex_key.upper()}\n"})
    assert key.secret == bytes.fromhex(hex_key) and key.source == "$MY_KEY" and key.kind == "env"
    for bad in ("", "   ", "zz" * 32, "ab" * 31, "abc" * 21):
        # an unset or empty variable is not named (its "name" may be the key, typed in its place)
        with pytest.raises(SigningKeyError, match="not set or empty" if not bad.strip() else "MY_KEY") as info:
            load_signing_key(config, env={"MY_KEY": bad})
        assert bad.strip() == "" or bad not in str(info.value)


def claims(tmp_path: Path, *keys: tuple[SigningKey, str]) -> list[str]:
    """Each (key, host) claims in turn on one state file, as gateways on those hosts would; the
    error of each refused claim, '' for an accepted one."""
    async def run() -> list[str]:
        state = SqliteStateStore(tmp_path / "gateway-state.db")
        await state.start()
        outcomes = []
        try:
            for key, host in keys:
                try:
                    await claim_key(state, key, refusing="to start", host=host)
                    outcomes.append("")
                except SigningKeyError as exc:
                    outcomes.append(str(exc))
        finally:
            await state.close()
        return outcomes
    # A loop of its own, closed after: asyncio.run would leave this thread without a current loop,
    # and pytest-tornado's next io_loop would then make (and leak) one.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(run())
    finally:
        loop.close()


def a_key(source: str, kind: str) -> SigningKey:
    secret = secrets.token_bytes(32)
    return SigningKey(secret=secret, key_id=key_id(secret), source=source, kind=kind)


def test_the_refusal_says_what_to_copy_from_which_host(tmp_path: Path) -> None:
    deployment = a_key("/srv/a/signing-key", "data_dir")
    same = SigningKey(deployment.secret, deployment.key_id, "/srv/b/signing-key", "data_dir")
    other_dir, other_file, other_env = (a_key("/srv/b/signing-key", "data_dir"), a_key("/run/keys/k", "file"),
                                        a_key("$SCIM_KEY", "env"))
    outcomes = claims(tmp_path, (deployment, "host-a"), (same, "host-b"), (other_dir, "host-b"),
                      (other_file, "host-c"), (other_env, "host-d"))
    assert outcomes[:2] == ["", ""]
    head = f"is not the deployment's (key id {deployment.key_id}, recorded in the shared state on "
    assert all(head in text and "first used from /srv/a/signing-key on host host-a)" in text for text in outcomes[2:])
    assert outcomes[2].startswith(f"refusing to start: this host's token-signing key (/srv/b/signing-key, key id "
                                  f"{other_dir.key_id})")
    assert ("copy the key in /srv/a/signing-key on host host-a to /srv/b/signing-key on this host (chmod 600), "
            "or give every host one key with [tokens] signing_key_file or signing_key_env") in outcomes[2]
    assert f"(/run/keys/k, key id {other_file.key_id})" in outcomes[3]
    assert "copy the key in /srv/a/signing-key on host host-a to /run/keys/k on this host" in outcomes[3]
    assert f"(the environment variable SCIM_KEY, key id {other_env.key_id})" in outcomes[4]
    assert "set SCIM_KEY to the key in /srv/a/signing-key on host host-a" in outcomes[4]
    for key, text in zip((other_dir, other_file, other_env), outcomes[2:]):
        assert "\n" not in text and key.secret.hex() not in text and deployment.secret.hex() not in text
