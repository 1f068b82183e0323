"""The conformance kit against the PostgreSQL adapter, each check on a fresh copy of a Vizmo
directory (locations 1 and 2) in the session's throwaway PostgreSQL server."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from adapters.testkit import AdapterContract, AdapterFactory
from adapters.vizmo_postgres.adapter import VizmoPostgresAdapter
from tests.pg_cluster import PgCluster, database_name


class TestVizmoPostgresAdapter(AdapterContract):
    """Location 1 is checked; location 2 is the other tenant."""

    @pytest.fixture
    def make_adapter(self, pg_cluster: PgCluster, pg_vizmo_template: str, tmp_path: Path,
                     request: pytest.FixtureRequest) -> AdapterFactory:
        numbers = itertools.count()

        def build() -> VizmoPostgresAdapter:
            dsn = pg_cluster.create_database(database_name(request.node.name), template=pg_vizmo_template)
            dsn_file = tmp_path / f"directory-{next(numbers)}.dsn"
            dsn_file.write_text(dsn, encoding="utf-8")
            return VizmoPostgresAdapter.from_options({"dsn_file": str(dsn_file)})

        return build

    @pytest.fixture
    def other_tenant(self) -> str:
        return "2"
