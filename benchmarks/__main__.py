"""Command line: ``python -m benchmarks --out DIR [--quick]`` (see :mod:`benchmarks.bench`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description="Benchmark the reference and every installed backend.")
    parser.add_argument("--out", type=Path, help="directory for bench.csv and bench.png")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a check that everything runs")
    parser.add_argument("--memory-probe", nargs=3, metavar=("N", "STEPS", "RULE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from . import bench
    if args.memory_probe:
        n, steps, rule = args.memory_probe
        print(json.dumps(bench.memory_probe(int(n), int(steps), rule)))
        return 0
    if args.out is None:
        parser.error("--out DIR is required")
    config = bench.QUICK if args.quick else bench.FULL
    rows = bench.run_all(config, args.out, log=lambda text: print(text, file=sys.stderr, flush=True))
    print(f"{len(rows)} measurements written to {args.out / 'bench.csv'} and {args.out / 'bench.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
