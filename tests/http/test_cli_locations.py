"""The CLI takes only canonical location ids (issue 13 §7): a positive integer in ASCII digits,
without a leading zero, within the directory's 64-bit range. Anything else is one line on stderr,
exit status 2, and nothing changed."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli import main
from tests.serving import cli, first_serve

BAD = ["01", "¹", "١", "12345678901234567890", "9223372036854775808", "0", "-1", "+1", " 1", "1.0", "1e3", "x",
       ""]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    first_serve(data)
    added = cli("integration", "add", "--data-dir", str(data), "--location", "1", "--json")
    assert added.returncode == 0, added.stderr
    return data


def listing(data_dir: Path) -> list[dict]:
    result = cli("integration", "list", "--data-dir", str(data_dir), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def umask_kept() -> Iterator[None]:
    """``main`` sets the process's umask (owner-only files); the test process gets its own back."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


@pytest.mark.parametrize("action", ["add", "rotate", "remove"])
def test_a_non_canonical_location_is_a_one_line_error_with_status_2(data_dir: Path, action: str,
                                                                    capsys: pytest.CaptureFixture[str],
                                                                    umask_kept: None) -> None:
    before = listing(data_dir)
    key = (data_dir / "signing-key").read_bytes()
    capsys.readouterr()
    for location in BAD:  # the CLI's own code, in this process (each subprocess costs 0.4 s), on a
        # thread of its own: its asyncio.run must not touch the event loop state of the test thread
        with ThreadPoolExecutor(1) as thread:
            status = thread.submit(main, ["integration", action, "--data-dir", str(data_dir),
                                          "--location", location]).result()
        out, err = capsys.readouterr()
        assert status == 2, location
        assert out == "" and len(err.strip().splitlines()) == 1, (location, err)
        assert "--location must be a location id" in err
    assert listing(data_dir) == before and (data_dir / "signing-key").read_bytes() == key


def test_the_installed_command_refuses_with_status_2_and_no_traceback(data_dir: Path) -> None:
    for location in ("01", "¹"):
        result = cli("integration", "rotate", "--data-dir", str(data_dir), "--location", location)
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_the_largest_location_id_is_accepted_and_reported_unknown(data_dir: Path) -> None:
    result = cli("integration", "add", "--data-dir", str(data_dir), "--location", str(2**63 - 1))
    assert result.returncode == 1 and "does not exist in the directory" in result.stderr
    assert [row["location_id"] for row in listing(data_dir)] == [1]


def test_rotate_of_location_1_leaves_one_tenant_url(data_dir: Path) -> None:
    rotated = cli("integration", "rotate", "--data-dir", str(data_dir), "--location", "1", "--json")
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout)["location_id"] == 1
    assert [row["tenant_url"].rsplit("/", 1)[1] for row in listing(data_dir)] == ["1"]
