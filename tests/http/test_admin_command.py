"""``vizmo-scim admin add|list|remove`` (issue 15 §2): the password typed twice at a real terminal
(a pseudo-terminal that is the command's controlling terminal, as getpass needs) or read from
``--password-file``; only an scrypt hash stored; locations checked; the usual storage options."""

from __future__ import annotations

import fcntl
import os
import select
import sqlite3
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.admin_support import PASSWORD, make_directory
from tests.serving import cli


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    make_directory(data)
    return data


def stored(data_dir: Path) -> dict[str, tuple[str, str | None]]:
    conn = sqlite3.connect(data_dir / "directory.db")
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'scim_operators'").fetchall():
            return {}  # the gateway's tables were never created: nothing was stored
        rows = conn.execute("SELECT name, password_hash, locations FROM scim_operators").fetchall()
    finally:
        conn.close()
    return {name: (password_hash, locations) for name, password_hash, locations in rows}


def _take_terminal() -> None:  # in the child, after setsid: the pty on stdin becomes its terminal
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def at_terminal(args: list[str], answers: list[str]) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal, typing each answer after the prompt before it."""
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", *args], stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True, preexec_fn=_take_terminal, close_fds=True)
    os.close(slave)
    seen, pending, answered = b"", list(answers), 0
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
                # Answer each prompt once it is on the terminal: getpass flushes the terminal's input
                # when it turns echo off and on again, so nothing may be typed ahead of its prompt.
                if pending and seen.endswith(b"password: ") and seen.count(b"password: ") > answered:
                    os.write(master, pending.pop(0).encode() + b"\n")
                    answered += 1
            elif proc.poll() is not None:
                break
        status = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
    return status, seen.decode(errors="replace")


def test_add_reads_the_password_twice_from_the_terminal_without_echo(data_dir: Path) -> None:
    status, output = at_terminal(["admin", "add", "carol", "--data-dir", str(data_dir)], [PASSWORD, PASSWORD])
    assert status == 0, output
    assert "New password:" in output and "Repeat the password:" in output and PASSWORD not in output
    assert "Operator carol created; may manage every location." in output
    password_hash, locations = stored(data_dir)["carol"]
    assert password_hash.startswith("scrypt$n=32768,r=8,p=1$") and PASSWORD not in password_hash
    assert locations is None


def test_two_different_passwords_change_nothing(data_dir: Path) -> None:
    status, output = at_terminal(["admin", "add", "carol", "--data-dir", str(data_dir)],
                                 [PASSWORD, PASSWORD + "!"])
    assert status == 1 and "the two passwords differ; nothing was changed" in output
    assert stored(data_dir) == {}


def test_file_passwords_locations_list_and_remove(data_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\nignored second line\n")
    base = ["--data-dir", str(data_dir), "--password-file", str(secret)]
    added = cli("admin", "add", "dave", "--location", "2", "--location", "1", "--location", "2", *base)
    assert added.returncode == 0 and "may manage location(s) 2, 1" in added.stdout, added.stderr
    assert stored(data_dir)["dave"][1] == '["2", "1"]'
    unknown = cli("admin", "add", "erin", "--location", "3", *base)
    assert unknown.returncode == 1 and unknown.stderr == "vizmo-scim: location 3 does not exist in the directory\n"
    malformed = cli("admin", "add", "erin", "--location", "01", *base)
    assert malformed.returncode == 2 and "--location must be a location id" in malformed.stderr
    bad_name = cli("admin", "add", "no spaces", *base)
    assert bad_name.returncode == 1 and "an operator name is" in bad_name.stderr
    secret.write_text("short\n")
    short = cli("admin", "add", "erin", *base)
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    assert set(stored(data_dir)) == {"dave"}
    listed = cli("admin", "list", "--data-dir", str(data_dir))
    assert listed.returncode == 0 and listed.stdout == "dave\tlocations 2,1\n"
    assert "scrypt" not in listed.stdout
    missing = cli("admin", "remove", "frank", "--data-dir", str(data_dir))
    assert missing.returncode == 1 and missing.stderr == "vizmo-scim: there is no operator 'frank'\n"
    removed = cli("admin", "remove", "dave", "--data-dir", str(data_dir))
    assert removed.returncode == 0 and stored(data_dir) == {}
    assert cli("admin", "list", "--data-dir", str(data_dir)).stdout.startswith("No operator accounts.")
    no_user = cli("admin", "remove", "--data-dir", str(data_dir))
    assert no_user.returncode == 1 and "needs the operator's name" in no_user.stderr


def test_a_password_piped_in_is_read_with_password_file_dev_stdin(data_dir: Path) -> None:
    """Without a terminal the command refuses to prompt (getpass would warn, then read the pipe
    echoed) and names --password-file, which reads a pipe as /dev/stdin."""
    piped = subprocess.run([sys.executable, "-m", "gateway.cli", "admin", "add", "zed", "--data-dir", str(data_dir)],
                           capture_output=True, text=True, timeout=60, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert piped.returncode == 1 and piped.stderr.count("\n") == 1 and "--password-file /dev/stdin" in piped.stderr
    assert stored(data_dir) == {}
    result = subprocess.run([sys.executable, "-m", "gateway.cli", "admin", "add", "zed", "--data-dir", str(data_dir),
                             "--password-file", "/dev/stdin"], capture_output=True, text=True, timeout=60,
                            input=f"{PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert stored(data_dir)["zed"][0].startswith("scrypt")

