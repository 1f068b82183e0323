"""The built wheel carries the package data and works outside the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_carries_schemas_sql_and_entry_points(tmp_path: Path) -> None:
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            str(ROOT), "-w", str(tmp_path / "dist")], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("vizmo_scim_gateway-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in ("schemas/config.schema.json", "schemas/resource/User.json", "schemas/resource/EnterpriseUser.json",
                 "schemas/request/User.schema.json", "schemas/request/PatchOp.schema.json",
                 "adapters/vizmo_sqlite/directory.sql", "adapters/vizmo_postgres/directory.sql", "gateway/py.typed"):
        assert data in names, data
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                                str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-2000:]
    code = ("import gateway.scim.schema_model as m, adapters.vizmo_sqlite.bootstrap as b, gateway.config as c; "
            "assert m.__file__.startswith(%r); print(sorted(m.resource_types()), len(b._sql('directory.sql')) > 0, "
            "c._file_validator() is not None)" % str(target))
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                         timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "['Group', 'User'] True True"
