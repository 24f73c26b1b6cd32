"""Command line: ``python -m benchmarks --out DIR [--quick]`` (see :mod:`benchmarks.bench`) and
``python -m benchmarks sweep --out DIR [--quick]`` (see :mod:`benchmarks.sweep_bench`)."""

from __future__ import annotations

import json
import sys


def _memory_probe(argv: list[str]) -> int:
    """``--memory-probe N STEPS RULE``: the subprocess of :func:`benchmarks.bench.measure_memory`."""
    from .bench import memory_probe
    n, steps, rule = argv
    print(json.dumps(memory_probe(int(n), int(steps), rule)))
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--memory-probe"]:
        sys.exit(_memory_probe(args[1:]))
    if args[:1] == ["sweep"]:   # python -m benchmarks sweep --out DIR [--quick] (benchmarks.sweep_bench)
        from .sweep_bench import main as sweep_main
        sys.exit(sweep_main(args[1:]))
    from .bench import main
    sys.exit(main(args))
