"""The benchmark's quick mode runs end to end and writes what it promises (no timing assertions)."""

import csv
import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import bench
from comparisons import backends

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """``python -m benchmarks --out DIR --quick`` in a subprocess; its CSV rows and output directory."""
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--out", str(out), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    with open(out / "bench.csv", newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader), out


def test_csv_has_the_fixed_columns_and_the_machine_on_every_row(quick_run):
    columns, rows, _ = quick_run
    assert tuple(columns) == bench.COLUMNS
    for r in rows:
        assert r["cpu"] and int(r["cores"]) >= 1 and r["python"].count(".") == 2
        assert "numpy " in r["versions"] and "numba " in r["versions"]


def test_every_measurement_is_there(quick_run):
    _, rows, _ = quick_run
    kinds = {r["benchmark"] for r in rows}
    assert {"throughput", "per_step", "fi_sweep", "fi_speedup", "memory", "compile",
            "harness_overhead", "brian2_cost", "brian2_cost_point"} <= kinds
    reference = {(r["variant"], r["n_neurons"]) for r in rows
                 if r["benchmark"] == "throughput" and r["backend"] == "reference" and r["status"] == "ok"}
    for rule in bench.REFERENCE_RULES:
        for n in bench.QUICK.sizes:
            assert (f"compiled: {rule}", str(n)) in reference
            assert (f"numpy: {rule}", str(n)) in reference
    assert {r["backend"] for r in rows if r["benchmark"] == "throughput"} >= set(backends.names())
    memory_units = {r["unit"] for r in rows if r["benchmark"] == "memory" and r["status"] == "ok"}
    assert memory_units == {"MiB peak RSS (VmHWM)", "MiB peak traced (tracemalloc)"}


def test_marginal_cost_per_stimulus_and_adapter_ratios_are_there(quick_run):
    """One marginal_stimulus row per backend measured for throughput; the reference's adapter compared
    with its compiled loop at every N (both are always installed)."""
    _, rows, _ = quick_run
    measured = {r["backend"] for r in rows if r["benchmark"] == "throughput" and r["status"] == "ok"}
    marginal = [r for r in rows if r["benchmark"] == "marginal_stimulus"]
    assert {r["backend"] for r in marginal} >= measured
    for r in marginal:
        assert r["status"] in ("ok", "noise", "error")
        assert r["status"] == "error" or (r["unit"] == "ms per stimulus" and math.isfinite(float(r["value"])))
    ratios = {r["n_neurons"]: r for r in rows if r["benchmark"] == "adapter_ratio" and r["backend"] == "reference"}
    assert set(ratios) == {str(n) for n in bench.QUICK.sizes}
    assert all(float(r["value"]) > 0 for r in ratios.values())


def test_measured_numbers_are_positive_and_finite(quick_run):
    _, rows, _ = quick_run
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) > 40
    for r in ok:
        value = float(r["value"])
        assert math.isfinite(value) and value > 0, r
        if r["benchmark"] in ("throughput", "per_step", "fi_sweep"):
            assert math.isfinite(float(r["seconds"])) and float(r["seconds"]) > 0, r
            assert int(r["repeats"]) >= 1


def test_brian2_cost_model_is_fitted_from_measured_runs(quick_run):
    """Quick mode fits numpy's model on four tiny workloads: four timed points, three non-negative
    coefficients, each row naming the coefficient the adapter ships."""
    _, rows, _ = quick_run
    points = [r for r in rows if r["benchmark"] == "brian2_cost_point"]
    assert len(points) == len(bench.QUICK.cost_grid) and all(r["status"] == "ok" for r in points)
    fit = {r["variant"]: r for r in rows if r["benchmark"] == "brian2_cost"}
    assert set(fit) == {"numpy: setup", "numpy: per_step", "numpy: per_neuron_step"}
    for r in fit.values():
        assert r["status"] == "fit" and math.isfinite(float(r["value"])) and float(r["value"]) >= 0
        assert "TARGET_COSTS" in r["note"]


def test_the_plot_is_a_png(quick_run):
    *_, out = quick_run
    data = (out / "bench.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_a_backend_missing_or_failing_becomes_a_row(monkeypatch):
    """Written against the registry: an adapter that is not there yet and one that raises are recorded,
    the others still measured."""
    monkeypatch.setattr(backends, "REGISTRY", {"reference": ("reference.backend", None),
                                               "ghost": ("models.ghost_", None),
                                               "raises": ("raises_backend", None)})
    runners, missing = bench.registry_runners(bench.load_spec("textbook"), 1e-4)
    rows = missing + bench.measure_throughput(runners, bench.QUICK)
    status = {r["backend"]: r["status"] for r in rows}
    assert status == {"reference": "ok", "ghost": "unavailable", "raises": "error"}
    assert "simulated crash" in next(r["note"] for r in rows if r["backend"] == "raises")
