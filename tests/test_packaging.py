"""The product as it ships: the built wheel carries every module and data file, and once installed
into a new virtual environment outside the source tree, its ``vizmo-scim`` command serves SCIM.

Issue 12 §1: a wheel without ``gateway.handlers`` (a folder without ``__init__.py``) once installed
cleanly and died at start; only a test that installs the wheel and runs the command sees that.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tarfile
import sys
import time
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
START_LINE = re.compile(r"serving adapter .* on 127\.0\.0\.1:(\d+) ")


def _source_files() -> list[str]:
    """The tracked and new (not ignored) files: what a clean clone would build from."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True)
    if listed.returncode == 0 and listed.stdout:
        return [name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]
    ignored = {"build", "dist", "__pycache__", ".git"}  # not a git checkout (an sdist)
    return [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
            if p.is_file() and not ignored & set(p.parts) and not any(s.endswith(".egg-info") for s in p.parts)]


def _copy_of_the_source(source: Path) -> Path:
    for name in _source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    return source


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the source files, so no build/ left in the checkout can hide
    a module that a clean build leaves out (and nothing is written into the checkout)."""
    source = _copy_of_the_source(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            str(source), "-w", str(out)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    return next(out.glob("vizmo_scim_gateway-*.whl"))


def test_the_wheel_carries_every_package_and_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "--", "gateway", "adapters", "schemas"], cwd=ROOT,
                             capture_output=True, text=True).stdout.split()
    if not tracked:  # not a git checkout (an sdist): list the source tree instead
        tracked = [str(p.relative_to(ROOT)) for top in ("gateway", "adapters", "schemas")
                   for p in (ROOT / top).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    left_out = [name for name in tracked if name not in names and not name.endswith(".md")]
    assert left_out == []
    assert "entry_points.txt" in " ".join(names)


def test_the_source_distribution_carries_the_gateway_and_no_tests(tmp_path: Path) -> None:
    """setuptools adds ``tests/test*.py`` to an sdist by default: three test files that cannot run
    without the rest of the repository shipped in it (a packaging review); MANIFEST.in prunes them."""
    source = _copy_of_the_source(tmp_path / "source")
    built = subprocess.run([sys.executable, "setup.py", "-q", "sdist", "-d", str(tmp_path / "dist")], cwd=source,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    with tarfile.open(next((tmp_path / "dist").glob("vizmo_scim_gateway-*.tar.gz"))) as sdist:
        names = [name.split("/", 1)[1] for name in sdist.getnames() if "/" in name]
    assert [name for name in names if name.startswith("tests/")] == []
    assert {"setup.py", "README.md", "gateway/app.py", "schemas/config.schema.json",
            "adapters/vizmo_sqlite/directory.sql"} <= set(names)


def test_the_installed_command_serves_scim_from_a_new_virtual_environment(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    python = env_dir / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", "-c", str(CONSTRAINTS), str(wheel)],
                               capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]
    command = env_dir / "bin" / "vizmo-scim"
    data_dir = tmp_path / "data"
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    server = subprocess.Popen([str(command), "serve", "--port", "0", "--data-dir", str(data_dir)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=clean_env)
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        found = START_LINE.search(banner)
        assert found, banner + (server.stderr.read() if server.poll() is not None and server.stderr else "")
        base = f"http://127.0.0.1:{found.group(1)}"
        added = subprocess.run([str(command), "integration", "add", "--json", "--data-dir", str(data_dir),
                                "--location", "1", "--base-url", base], capture_output=True, text=True,
                               timeout=60, cwd=tmp_path, env=clean_env)
        assert added.returncode == 0, added.stderr
        credentials = json.loads(added.stdout)
        assert credentials["tenant_url"] == f"{base}/scim/v2/locations/1"
        request = urllib.request.Request(credentials["tenant_url"] + "/Users",
                                         headers={"Authorization": f"Bearer {credentials['secret_token']}"})
        status, body = _get_when_listening(request)
        assert status == 200
        assert body["totalResults"] == 0 and body["Resources"] == []
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    assert server.returncode == 0
    # The installed code, not the source tree, answered.
    where = subprocess.run([str(python), "-c", "import gateway.handlers; print(gateway.handlers.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=clean_env)
    assert where.stdout.startswith(str(env_dir)), where.stdout + where.stderr
    # --version names the release installed, as the wheel's metadata records it.
    release = wheel.name.split("-")[1]
    printed = subprocess.run([str(command), "--version"], capture_output=True, text=True, timeout=60,
                             cwd=tmp_path, env=clean_env)
    assert (printed.returncode, printed.stdout) == (0, f"vizmo-scim {release}\n"), printed


def _get_when_listening(request: urllib.request.Request) -> tuple[int, dict]:
    """The answer to ``request``, retried until the worker accepts connections (20 s deadline)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _readme_files() -> dict[str, str]:
    """The files README's adapter walk-through writes: each code block whose first line is a
    comment naming a path (``# my-store/pyproject.toml``), by that path."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    walk = text[text.index("### Walk-through: a file-backed adapter"):]
    blocks = re.findall(r"```(?:toml|python)\n# (\S+)\n(.*?)```", walk, re.DOTALL)
    return {path: f"# {path}\n{body}" for path, body in blocks}


def test_readme_adapter_walk_through_in_a_new_virtual_environment(wheel: Path, tmp_path: Path) -> None:
    """README "Walk-through: a file-backed adapter", followed as written: a package of the example
    adapter registered as an entry point, the conformance kit from the ``testkit`` extra, then
    ``check-config``, ``serve``, the printed ``integration add`` and a SCIM request over HTTP."""
    files = _readme_files()
    assert set(files) == {"my-store/pyproject.toml", "my-store/tests/test_contract.py", "gateway.toml"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    package = tmp_path / "my-store" / "my_store"
    package.mkdir()
    (package / "__init__.py").write_text("")
    shutil.copyfile(ROOT / "adapters" / "examples" / "json_file.py", package / "adapter.py")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            str(tmp_path / "my-store"), "-w", str(tmp_path / "dist")], capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    my_wheel = next((tmp_path / "dist").glob("my_store-*.whl"))

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    clean_env = {k: v for k, v in os.environ.items()
                 if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("VIZMO_SCIM_")}
    clean_env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{clean_env.get('PATH', '')}"

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=tmp_path, env=clean_env)

    installed = run("python", "-m", "pip", "install", "-q", "-c", str(CONSTRAINTS), str(wheel), f"{my_wheel}[test]",
                    timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    kit = run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "my-store/tests/test_contract.py", timeout=300)
    assert kit.returncode == 0 and re.search(r"\b\d{2,} passed", kit.stdout), kit.stdout[-3000:]
    listed = run("vizmo-scim", "adapters", "list")
    assert listed.returncode == 0 and "mystore\tmy_store.adapter:JsonFileAdapter" in listed.stdout, listed.stderr
    assert run("vizmo-scim", "check-config", "gateway.toml").returncode == 0

    server = subprocess.Popen(["vizmo-scim", "serve", "--config", "gateway.toml", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=clean_env)
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        found = START_LINE.search(banner)
        hint = re.search(r"enable a location with '(vizmo-scim integration add .*)'$", banner.strip())
        assert found and hint, banner + (server.stderr.read() if server.poll() is not None and server.stderr else "")
        added = run(*shlex.split(hint.group(1).replace("<id>", "1")), "--json")
        assert added.returncode == 0, added.stderr
        credentials = json.loads(added.stdout)
        headers = {"Authorization": f"Bearer {credentials['secret_token']}", "Content-Type": "application/scim+json"}
        create = urllib.request.Request(credentials["tenant_url"] + "/Users", method="POST", headers=headers, data=json.dumps(
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@example.com"}).encode())
        assert _get_when_listening(create)[0] == 201
        status, body = _get_when_listening(urllib.request.Request(
            credentials["tenant_url"] + "/Users?filter=userName%20eq%20%22ADA@example.com%22", headers=headers))
        assert status == 200 and [u["userName"] for u in body["Resources"]] == ["ada@example.com"]
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    assert server.returncode == 0
    stored = json.loads((tmp_path / "users.json").read_text())  # beside gateway.toml, as its relative path says
    assert [u["userName"] for u in stored["users"]["1"].values()] == ["ada@example.com"]
