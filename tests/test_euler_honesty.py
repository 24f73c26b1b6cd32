"""``method = "euler"``: a backend that cannot integrate with forward Euler says so instead of running
exactly and failing Euler's order check for being more accurate than asked.

NEST (exact propagators), snnTorch's Leaky (beta = exp(-dt/tau)) and Rockpool (V *= exp(-dt/tau_mem))
integrate exactly; snnTorch's Lapicque steps with 1 - dt/RC (forward Euler), Brian2 and the reference
offer both integrators, Nengo only the exact one.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from comparisons.cli import main
from models import nest_, nengo_, rockpool_, snntorch_
from models import brian2_
from reference import backend as reference_
from models.drive import Drive
from models.files import resolve
from models.loading import load_spec
from models.result import RunSettings
from reference import closed_forms as cf

from conftest import small_sections

DT = 1e-4


def settings(method, **options):
    return RunSettings(DT, 100, method=method, options=tuple(options.items()))


@pytest.mark.parametrize("module, options", [(nest_, {}), (nest_, {"model": "iaf_psc_delta_ps"}),
                                             (snntorch_, {}), (snntorch_, {"model": "leaky"}),
                                             (rockpool_, {}), (nengo_, {})])
def test_exact_only_backends_refuse_euler_naming_the_method(module, options):
    spec = load_spec("euler_tutorial").replace(t_ref=0.0) if module in (snntorch_, rockpool_) else \
        load_spec("textbook")
    assert module.representable(spec, settings("exact", **options)) is None
    reason = module.representable(spec, settings("euler", **options))
    assert reason is not None and "\n" not in reason
    assert "euler" in reason.lower() and "exact" in reason.lower()


def test_nest_reason_names_the_model_it_would_run():
    spec = load_spec("textbook")
    assert "iaf_psc_delta_ps" in nest_.representable(spec, settings("euler", model="iaf_psc_delta_ps"))
    assert "iaf_psc_exp" in nest_.representable(spec.replace(tau_syn=5e-3), settings("euler"))


def test_exact_backends_are_exact_so_euler_would_have_been_a_lie():
    """What the refusal prevents: snnTorch's Leaky and Rockpool follow the exact relaxation (closed form)
    a million times closer than forward Euler does (the reference's euler run), so their result cannot be
    passed off as Euler's; NEST's equality with the exact integrator is tests/test_nest.py's first test."""
    spec = load_spec("euler_tutorial").replace(t_ref=0.0)
    n, current = 100, 0.5 * cf.relative_current(spec, 1.0)      # subthreshold: no spike, a pure relaxation
    drive = Drive.constant([current], DT, n)
    t = np.arange(n + 1) * DT
    exact = cf.subthreshold(spec, t, current)
    euler = reference_.run(spec, drive, RunSettings(DT, n, method="euler")).v[:, 0]
    gap = np.max(np.abs(euler - exact))
    for module in (snntorch_, rockpool_):
        v = module.run(spec, drive, RunSettings(DT, n)).v[:, 0]
        assert np.max(np.abs(v - exact)) < 1e-6 * gap


def test_lapicque_and_synaptic_remain_representable_with_euler():
    spec = load_spec("euler_tutorial").replace(t_ref=0.0)
    assert snntorch_.representable(spec, settings("euler", model="lapicque")) is None
    assert snntorch_.representable(spec.replace(tau_syn=5e-3), settings("euler")) is None  # Euler factors
    assert brian2_.representable(spec, settings("euler")) is None
    assert reference_.representable(spec, settings("euler")) is None


def test_euler_comparison_on_every_backend_exits_0_listing_the_exact_ones(tmp_path):
    """Forward Euler asked of six backends: the reference and Brian2 run it; NEST, snnTorch (Leaky),
    Rockpool and Nengo are listed as not representable with their reason; every verdict passes (exit 0);
    no [t_ref=0] substitute helps the exact-only ones (they refuse Euler there too)."""
    names = ["reference", "brian2", "nest", "snntorch", "rockpool", "nengo"]
    path = tmp_path / "cell.toml"
    path.write_text(resolve("textbook").read_text()
                    + small_sections(duration="100 ms", fi_num=7, fi_duration="300 ms", backends=names,
                                     method="euler"))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    refused = manifest["not_representable"]
    assert set(refused) == {"nest", "snntorch", "rockpool", "nengo"}
    for name in ("nest", "snntorch", "rockpool", "nengo"):
        assert "euler" in refused[name].lower()
    rows = (out / "metrics.csv").read_text().splitlines()
    backends_with_rows = {line.split(",")[1] for line in rows[1:]}
    assert backends_with_rows == {"reference", "brian2", "closed_form"}
    assert any(",convergence_order_deviation," in line and line.endswith(",True") for line in rows)
