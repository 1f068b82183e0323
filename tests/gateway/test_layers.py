"""The layers as docs/architecture.md draws them, checked on what Python actually loads (a grep of
direct imports missed one: the service layer loaded Tornado through ``gateway.config`` →
``gateway.forwarded``, for a type hint)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(("modules", "forbidden"), [
    (("gateway.service", "gateway.resources", "gateway.answer", "gateway.config", "gateway.config_file",
      "gateway.tokens", "gateway.signing_keys", "gateway.context", "gateway.adapter_setup", "gateway.activity.recorder",
      "gateway.metrics", "gateway.permissions", "gateway.logs", "gateway.admin.context",
      "gateway.admin.integrations", "gateway.tenant_urls"), ("tornado",)),
    (("gateway.scim.validation", "gateway.scim.patch", "gateway.scim.filter", "gateway.scim.listing"),
     ("tornado", "jwt")),
])
def test_a_layer_loads_nothing_it_may_not_import(modules: tuple[str, ...], forbidden: tuple[str, ...]) -> None:
    code = (f"import sys, importlib; [importlib.import_module(m) for m in {list(modules)!r}]; "
            f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r}); "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
