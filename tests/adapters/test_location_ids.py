"""One rule for what a location id is (adapters/location_ids.py), held by the state store that
LDAP deployments use and by the CLI: ``01`` enabled location 1, and a 19-digit id past the
64-bit range passed the CLI, then was not found."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.errors import NotFound
from adapters.location_ids import location_number
from adapters.sqlite_state import SqliteStateStore
from tests.polling import run_on_own_loop
from tests.serving import cli, first_serve


@pytest.mark.parametrize(("text", "number"), [
    ("1", 1), ("42", 42), ("9223372036854775807", 2**63 - 1),
    ("0", None), ("01", None), ("9223372036854775808", None), ("12345678901234567890", None),
    ("hq", None), ("-1", None), ("+1", None), (" 1", None), ("١", None), ("", None),
])
def test_a_location_id_is_a_64_bit_number_in_ascii_digits_without_a_leading_zero(text: str,
                                                                                  number: int | None) -> None:
    assert location_number(text) == number


def test_the_sqlite_state_store_enables_only_location_ids(tmp_path: Path) -> None:
    store = SqliteStateStore(tmp_path / "gateway-state.db")

    async def scenario() -> list[str]:
        await store.start()
        try:
            for refused in ("01", "hq", "9223372036854775808"):
                with pytest.raises(NotFound):
                    await store.enable(refused)
            await store.enable("9223372036854775807")
            return [integration.tenant for integration in await store.list()]
        finally:
            await store.close()

    assert run_on_own_loop(scenario()) == ["9223372036854775807"]


def test_the_cli_refuses_what_is_not_a_location_id(tmp_path: Path) -> None:
    first_serve(tmp_path / "data")
    for text in ("01", "hq", "9223372036854775808"):
        refused = cli("integration", "add", "--data-dir", str(tmp_path / "data"), "--location", text)
        assert refused.returncode == 2 and "--location must be a location id" in refused.stderr, refused.stderr
