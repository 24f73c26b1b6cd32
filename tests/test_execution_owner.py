"""One execution package (comparisons/execution/) owns the child processes: nothing outside it forks,
freezes the heap, starts a fork server or preloads simulators (every call parsed, function-local ones
included); the others call what it exports (``forked_map``, ``frozen_heap``, ``preload_all``, the
``Executor``). An adapter defines its own ``preload()`` capability, which only the execution package calls."""

from __future__ import annotations

import ast

from conftest import ROOT

#: Calls only the execution package makes: ``module.attribute`` (``None``: on anything but the execution
#: package's own exports), plus any import of ``multiprocessing``.
OWNED = {("gc", "freeze"), ("gc", "unfreeze"), ("os", "fork"), ("os", "forkpty"), (None, "ForkServer"),
         (None, "Process"), (None, "get_context"), (None, "preload")}
#: Modules of the execution package.
OWNER = ROOT / "comparisons" / "execution"
#: The one fork outside it, with its reason: Brian2's cpp_standalone build runs in a child of the
#: simulator's own run (a build directory per kind of network), inside the isolated child the execution
#: package started.
ALLOWED = {("models/brian2_.py", "os.fork")}
#: Modules that call the execution package's own ``preload`` by its bare name (imported from it; checked
#: below), so the call is the package's, not a preload of their own.
EXPORTED = {"benchmarks/sweep_bench.py": ("preload",)}


def calls(path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute):
                base = f.value.id if isinstance(f.value, ast.Name) else None
                yield node.lineno, base, f.attr
            elif isinstance(f, ast.Name):
                yield node.lineno, None, f.id
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names]
            module = getattr(node, "module", None) or ""
            if "multiprocessing" in module.split(".") or any(n.split(".")[0] == "multiprocessing" for n in names):
                yield node.lineno, "import", "multiprocessing"


def test_nothing_outside_the_execution_package_forks_freezes_or_preloads():
    wrong = []
    for package in ("models", "reference", "reports", "comparisons", "benchmarks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if OWNER in path.parents:
                continue
            where = str(path.relative_to(ROOT))
            for line, base, name in calls(path):
                imported = name in EXPORTED.get(where, ())
                owned = (base, name) in OWNED or base == "import" or \
                    ((None, name) in OWNED and base not in (None, "execution"))
                if owned and not imported and (where, f"{base}.{name}") not in ALLOWED:
                    wrong.append(f"{where}:{line} {base + '.' if base else ''}{name}")
    assert not wrong, "only comparisons/execution/ may fork, freeze or preload:\n" + "\n".join(wrong)


def test_the_bare_preload_calls_are_the_execution_packages():
    for where, names in EXPORTED.items():
        text = (ROOT / where).read_text()
        for name in names:
            assert f"from comparisons.execution import {name}" in text, where


def test_the_check_sees_a_freeze():
    """The scan is not vacuous: the execution package itself is full of what it owns."""
    found = {(base, name) for path in OWNER.rglob("*.py") for _, base, name in calls(path)}
    assert {("gc", "freeze"), ("module", "preload"), ("os", "fork")} <= found
