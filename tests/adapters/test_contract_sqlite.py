"""The conformance kit against the built-in SQLite adapter, each check on a fresh directory file."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from adapters.testkit import AdapterContract, AdapterFactory
from adapters.vizmo_sqlite.adapter import VizmoSqliteAdapter
from adapters.vizmo_sqlite.bootstrap import create_directory


class TestVizmoSqliteAdapter(AdapterContract):
    """Location 1 (created by ``create_directory``) is checked; location 2 is the other tenant."""

    @pytest.fixture
    def make_adapter(self, tmp_path: Path) -> AdapterFactory:
        numbers = itertools.count()

        def build() -> VizmoSqliteAdapter:
            path = tmp_path / f"directory-{next(numbers)}.db"
            create_directory(path)
            conn = sqlite3.connect(path, isolation_level=None)
            try:
                conn.execute("INSERT INTO locations (id, company_id, name) VALUES (2, 1, 'Pune')")
            finally:
                conn.close()
            return VizmoSqliteAdapter(path)

        return build

    @pytest.fixture
    def other_tenant(self) -> str:
        return "2"
