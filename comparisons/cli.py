"""The command line (a first version: presets and a reference summary per preset)."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from models.errors import UserInputError
from models.files import preset_names
from models.loading import load_spec
from models.drive import Drive
from reference import closed_forms as cf, reference_conventions, simulate


def _presets(args) -> int:
    for name in preset_names():
        spec = load_spec(name)
        print(f"{name:20s} {spec.description.splitlines()[0][:90]}")
    return 0


def _report(args) -> int:
    dt, duration = 1e-4, 1.0
    for name in args.presets or preset_names():
        spec = load_spec(name)
        current = 2.0 * spec.rheobase
        _, _, times = simulate(spec, Drive.constant([current], dt, int(round(duration / dt))),
                               reference_conventions("exact", "exact"))
        rate = (times.size - 1) / (times[-1] - times[0]) if times.size > 1 else 0.0
        print(f"{name:20s} I = 2 x rheobase: rate {rate:9.4f} Hz, closed form "
              f"{float(cf.rate(spec, current)):9.4f} Hz")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m comparisons",
                                     description="Validate one LIF specification across simulators.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("presets", help="list the shipped presets").set_defaults(func=_presets)
    report = sub.add_parser("report", help="run every shipped preset")
    report.add_argument("presets", nargs="*", help="preset names (default: all)")
    report.add_argument("--out", default="reports/latest", help="output directory")
    report.set_defaults(func=_report)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


__all__ = ["main", "np"]
