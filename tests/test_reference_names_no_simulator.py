"""The reference package names no simulator: its code (identifiers, string values, imports; docstrings and
comments may cite a simulator as an example) knows rules, not backends. A simulator's rule lives in its
adapter's declared contract (models/*_.py)."""

from __future__ import annotations

import ast
import re

from conftest import ROOT

SIMULATORS = re.compile(r"brian|nest|nengo|snntorch|rockpool", re.IGNORECASE)


def names_in_code(path):
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value
        elif isinstance(node, ast.Name):
            yield node.lineno, node.id
        elif isinstance(node, ast.Attribute):
            yield node.lineno, node.attr
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            yield node.lineno, node.name
        elif isinstance(node, ast.arg):
            yield node.lineno, node.arg
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                yield node.lineno, f"{getattr(node, 'module', '') or ''}.{alias.name}"


def test_the_reference_package_names_no_simulator():
    found = [f"{path.relative_to(ROOT)}:{line} {text!r}" for path in sorted((ROOT / "reference").glob("*.py"))
             for line, text in names_in_code(path) if SIMULATORS.search(text)]
    assert not found, "\n".join(found)


def test_the_scan_sees_an_adapter_naming_its_simulator():
    """Not vacuous: the same scan finds the name in an adapter."""
    assert any(SIMULATORS.search(text) for _, text in names_in_code(ROOT / "models" / "brian2_.py"))
