"""The repository keeps its promises: README's two commands, CI running exactly README's test command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text(), flags=re.S)[:2]


def test_readme_starts_with_install_and_serve_then_install_and_test() -> None:
    serve, test = readme_commands()
    assert "pip install" in serve and serve.endswith("vizmo-scim serve")
    assert "pip install" in test and test.endswith("python3 -m pytest")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert lines[-1] == readme_commands()[1]


def test_nothing_generated_is_tracked() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not tracked:  # not a git checkout (an sdist): nothing to check
        return
    bad = [p for p in tracked if re.search(r"(\.db|\.db-wal|\.db-shm|\.sqlite3?|\.pyc)$|__pycache__/|vizmo-scim-data/", p)]
    assert bad == []
