"""The package layering of docs/architecture.md: who may import whom, and no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import tuyameter

ROOT = Path(tuyameter.__file__).parent
# package → packages it may import (docs/architecture.md, "What each package may import")
ALLOWED: dict[str, set[str]] = {
    "util": set(),
    "tuyamcu": {"util"},
    "tuyalan": {"util"},
    "hlw8112": {"util"},
    "store": {"util"},
    "profiles": {"tuyamcu", "util"},
    "pipeline": {"profiles"},
    "meter": {"profiles", "pipeline", "util"},
    "energy": {"profiles", "store", "pipeline"},
    "transport": {"tuyamcu", "util"},
    "emulator": {"tuyamcu", "tuyalan", "hlw8112", "transport", "profiles", "util"},
    "sources": {"pipeline", "profiles", "transport", "tuyamcu", "tuyalan", "hlw8112", "emulator", "util"},
    "gateway": {"pipeline", "sources", "meter", "energy", "store", "profiles", "util"},
    "mqtt": {"pipeline", "profiles", "tuyamcu", "util"},
    "web": {"pipeline", "profiles", "energy", "store", "util"},
    "config": {"gateway", "mqtt", "web", "util", "profiles", "sources"},
    "interop": {"profiles", "tuyamcu", "util"},
    "flash": {"interop", "profiles", "tuyamcu", "util"},
    "tools": {"profiles", "transport", "tuyamcu", "tuyalan", "hlw8112", "sources"},
}


def imports() -> dict[str, set[str]]:
    deps: dict[str, set[str]] = {}
    for f in ROOT.rglob("*.py"):
        rel = f.relative_to(ROOT).parts
        pkg = rel[0].removesuffix(".py")
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for n in names:
                parts = n.split(".")
                if parts[0] == "tuyameter" and len(parts) > 1 and parts[1] != pkg:
                    deps.setdefault(pkg, set()).add(parts[1])
    return deps


def test_each_package_imports_only_what_it_may() -> None:
    wrong = {
        pkg: sorted(used - ALLOWED[pkg]) for pkg, used in imports().items() if pkg in ALLOWED and used - ALLOWED[pkg]
    }
    assert not wrong, wrong


def test_no_import_cycles_between_packages() -> None:
    deps = imports()
    state: dict[str, int] = {}

    def visit(p: str, path: list[str]) -> None:
        if state.get(p) == 1:
            raise AssertionError("import cycle: " + " → ".join([*path, p]))
        if state.get(p) == 2:
            return
        state[p] = 1
        for q in deps.get(p, ()):
            visit(q, [*path, p])
        state[p] = 2

    for p in deps:
        visit(p, [])


def test_every_package_has_a_rule() -> None:
    pkgs = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert pkgs - {"cli"} <= set(ALLOWED), pkgs - {"cli"} - set(ALLOWED)
