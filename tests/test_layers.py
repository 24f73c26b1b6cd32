"""The packages form layers: every import (function-local ones included) goes down the stated order, and no
two modules of one package import each other in a cycle.

``models`` (the specification, the written conventions, the sampled input, the result, the simulator
adapters) < ``reference`` (the reference engine and backend, the closed forms, the bounds, the twins) <
``reports`` (writers and renderers of an outcome) < ``comparisons`` (stimuli, harness, metrics, verdicts,
execution, the command line and the Python API) < ``benchmarks``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

ORDER = ["models", "reference", "reports", "comparisons", "benchmarks"]


def modules() -> dict[str, Path]:
    out = {}
    for package in ORDER:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def imports(name: str, path: Path) -> list[tuple[int, str]]:
    """(line, imported module) of every import statement anywhere in the file, relative ones resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                found += [(node.lineno, f"{module}.{a.name}" if not node.module else module) for a in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def test_imports_go_down_the_layers():
    rank = {package: i for i, package in enumerate(ORDER)}
    wrong = []
    for name, path in modules().items():
        mine = rank[name.split(".")[0]]
        for line, target in imports(name, path):
            top = target.split(".")[0]
            if top in rank and rank[top] > mine:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "imports against the order " + " < ".join(ORDER) + ":\n" + "\n".join(wrong)


def test_no_import_cycle_between_modules():
    known = modules()
    graph = {}
    for name, path in known.items():
        targets = set()
        for _, target in imports(name, path):
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                targets.add(target)
        graph[name] = targets
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("text, expected", [
    ("from . import x", "pkg.x"), ("from .a import b", "pkg.a"), ("import models.spec", "models.spec"),
    ("def f():\n    from reports import html", "reports"),
])
def test_the_parser_sees_every_kind_of_import(tmp_path, text, expected):
    path = tmp_path / "mod.py"
    path.write_text(text)
    assert expected in [t for _, t in imports("pkg.mod", path)]
