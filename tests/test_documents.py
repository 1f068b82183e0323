"""Every document and file the repository names exists in it: README.md, docs/*.md, and the
docstrings and comments of every Python file (and the comments of the shell and Lua scripts).

A name counts when it ends in ``.md`` (wherever it points), or when it is a path that starts at
one of the repository's top folders (``gateway/…``, ``docs/…``, ``bench/…``, ``scripts/…``), or
climbs out of it (``../…``). URLs are not names. ``*`` in a name is a glob that must match.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Folders of the repository a path may start with.
TOP_FOLDERS = ("adapters", "bench", "docs", "gateway", "schemas", "scripts", "tests", ".ci")
#: Names that are not this repository's files, each with the reason.
NOT_OURS = {
    "tests/test_contract.py": "README's adapter walk-through: the integrator's own test module",
}

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I)
_TOKEN = re.compile(r"(?<![\w/.*~$-])[\w./*-]+")
_MD_NAME = re.compile(r"[\w*-]\.md$")
_SUFFIXED = re.compile(r"(\.(?:md|py|sh|sql|json|lua|txt|toml))-[a-z]+$")


def named_paths(text: str) -> set[str]:
    """The document and file paths ``text`` names."""
    found = set()
    for token in _TOKEN.findall(_URL.sub(" ", text)):
        token = _SUFFIXED.sub(r"\1", token).rstrip(".,:;-")  # "bench/load.py-style" names bench/load.py
        if _is_name(token):
            found.add(token)
    return found


def _is_name(token: str) -> bool:
    if token.endswith(".md"):
        return _MD_NAME.search(token) is not None  # not ".md" alone
    if token.startswith("../"):
        return bool(token.strip("./"))  # not "../" alone
    first, slash, _ = token.partition("/")
    return bool(slash) and first in TOP_FOLDERS


def python_prose(source: str) -> str:
    """The docstrings and comments of a Python module, one per line."""
    parts = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                parts.append(docstring)
    parts += [tok.string for tok in tokenize.generate_tokens(io.StringIO(source).readline)
              if tok.type == tokenize.COMMENT]
    return "\n".join(parts)


def script_comments(text: str) -> str:
    """The comment lines of a shell or Lua script."""
    return "\n".join(line for line in text.splitlines() if line.lstrip().startswith(("#", "--")))


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if listed:
        return [ROOT / name for name in listed]
    return [path for path in ROOT.rglob("*") if path.is_file() and ".git" not in path.parts]  # an sdist


def prose_by_file() -> dict[str, str]:
    prose = {}
    for path in tracked_files():
        if not path.is_file():
            continue
        name = path.relative_to(ROOT).as_posix()
        if name.endswith(".md"):
            prose[name] = path.read_text(encoding="utf-8")
        elif name.endswith(".py"):
            prose[name] = python_prose(path.read_text(encoding="utf-8"))
        elif name.endswith((".sh", ".lua")) or name.startswith(("scripts/", ".ci/")):
            prose[name] = script_comments(path.read_text(encoding="utf-8"))
    return prose


def exists(name: str) -> bool:
    if name.startswith("/") or ".." in name.split("/"):
        return False  # outside the repository
    if "*" in name:
        return any(ROOT.glob(name))
    return (ROOT / name).exists()


def test_every_named_document_exists_in_the_repository() -> None:
    missing = sorted(f"{source}: {name}" for source, text in prose_by_file().items()
                     for name in named_paths(text) if name not in NOT_OURS and not exists(name))
    assert not missing, "named, but not in the repository:\n" + "\n".join(missing)


def test_the_names_are_found() -> None:
    text = ("See docs/architecture.md, performance notes (and ARCHITECTURE.md); run `bench/load.py` or "
            "scripts/refresh-constraints; ../shared/peer-suites; tests/adapters/test_contract_*.py. "
            "Not names: https://example.com/docs/x.md, gateway.toml, read/write, DATA_DIR/signing-key.")
    assert named_paths(text) == {"docs/architecture.md", "ARCHITECTURE.md", "bench/load.py",
                                 "scripts/refresh-constraints", "../shared/peer-suites",
                                 "tests/adapters/test_contract_*.py"}
    assert named_paths("a bench/load.py-style run; names ending in .md or starting with ../") == {"bench/load.py"}
    assert exists("tests/adapters/test_contract_*.py") and not exists("../shared/peer-suites")
    assert "README.md" in prose_by_file()
