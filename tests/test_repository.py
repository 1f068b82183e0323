"""The repository keeps its promises: README's two commands, CI running them, pinned test dependencies."""

from __future__ import annotations

import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    return re.findall(r"^```sh\n(.+?)\n```", (ROOT / "README.md").read_text(), flags=re.S | re.M)[:2]


def test_readme_starts_with_install_and_serve_then_set_up_install_and_test() -> None:
    serve, test = readme_commands()
    assert serve == "python3 -m pip install . && vizmo-scim serve"
    assert test.startswith("scripts/install-test-servers && ")
    assert "pip install -c constraints.txt" in test and test.endswith("python3 -m pytest")
    assert (ROOT / "scripts" / "install-test-servers").stat().st_mode & 0o111


def test_ci_runs_both_readme_commands_in_a_new_virtual_environment() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv" in ci and "system-site-packages" not in ci
    # The commands are read from README.md at run time, so CI runs exactly what README prints.
    assert 'readme_command 1' in ci and 'readme_command 2' in ci
    assert 'bash -c "$serve_command"' in ci and 'bash -c "$test_command"' in ci
    assert "apt-get" not in ci and "pip install" not in ci  # nothing set up beside README's commands


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version
    return pins


def _test_closure() -> set[str]:
    """Every distribution that ``pip install '.[test]'`` brings, as installed here."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in metadata.requires("vizmo-scim-gateway") or []
            if Requirement(r).marker is None or Requirement(r).marker.evaluate({"extra": "test"})]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        for extra_req in metadata.requires(req.name) or []:
            child = Requirement(extra_req)
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in (req.extras or {""})):
                todo.append(child)
    return seen


def test_every_test_dependency_is_pinned_and_installed_at_its_pin() -> None:
    pins = _pins()
    closure = _test_closure()
    assert {"pytest", "pytest-tornado", "tornado", "setuptools"} <= closure
    unpinned = sorted(closure - pins.keys())
    assert unpinned == [], "add these to constraints.txt (scripts/refresh-constraints)"
    drifted = {name: (metadata.version(name), pins[name]) for name in closure
               if metadata.version(name) != pins[name]}
    assert drifted == {}, "installed (left) differs from constraints.txt (right): install README's way"


def test_nothing_generated_is_tracked() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout (an sdist): nothing is tracked")
    bad = [p for p in tracked if re.search(r"(\.db|\.db-wal|\.db-shm|\.sqlite3?|\.pyc)$|__pycache__/|vizmo-scim-data/", p)]
    assert bad == []
