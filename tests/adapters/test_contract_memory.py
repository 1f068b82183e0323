"""The conformance kit against the in-memory example adapter (the "Writing an adapter" subject)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adapters.examples.memory import MemoryAdapter
from adapters.testkit import AdapterContract, AdapterFactory


class TestMemoryAdapter(AdapterContract):
    @pytest.fixture
    def make_adapter(self) -> AdapterFactory:
        return lambda: MemoryAdapter(tenants=["1", "2"])

    @pytest.fixture
    def other_tenant(self) -> str:
        return "2"


def test_kit_and_example_import_neither_gateway_nor_tornado() -> None:
    """An integrator's test run needs pytest and the adapters SDK only."""
    code = ("import sys, adapters.testkit, adapters.examples.memory; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('gateway', 'tornado', 'jwt')); "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
