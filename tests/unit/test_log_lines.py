"""What ``configure_logging`` lets through from libraries (gateway/logs.py)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiosqlite
import pytest

from gateway.logs import configure_logging


def test_no_statement_values_are_logged_even_at_debug(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """aiosqlite logged every statement with its bound values at DEBUG: a filter's names and
    emails (a security review)."""
    root, library = logging.getLogger(), logging.getLogger("aiosqlite")
    handlers, level, library_level = list(root.handlers), root.level, library.level
    loop = asyncio.new_event_loop()  # (asyncio.run would drop the loop another test left current, unclosed)
    try:
        configure_logging(logging.DEBUG)

        async def query() -> None:
            async with aiosqlite.connect(tmp_path / "x.db") as db:
                await db.execute("SELECT ?", ("priya.secret@contoso.example",))
        loop.run_until_complete(query())
        logging.getLogger("vizmo_scim.test").debug("a DEBUG line of the gateway's own")
    finally:
        loop.close()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        library.setLevel(library_level)
    err = capsys.readouterr().err
    assert "a DEBUG line of the gateway's own" in err and "priya.secret" not in err
