"""Shared fixtures. Tests write only under pytest's tmp_path; the Brian2/Nengo global state they touch is
restored by the backends themselves and checked by their tests."""

import sys
import tracemalloc
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from models.loading import load_spec  # noqa: E402


@pytest.fixture
def textbook():
    """The textbook cell of the semantics notes (tau 20 ms, E_L -70, V_th -50, V_reset -65 mV, 100 MOhm,
    t_ref 2 ms): exact first spike 32.188758 ms and ISI 29.725887 ms at 250 pA."""
    return load_spec("textbook")


#: The textbook cell's [neuron] table as a person writes it (models/presets/textbook.toml's values).
TEXTBOOK_NEURON = """[neuron]
tau_m = "20 ms"
E_L = "-70 mV"
V_th = "-50 mV"
V_reset = "-65 mV"
R = "100 Mohm"
t_ref = "2 ms"
"""


def small_sections(duration="200 ms", fi_num=11, fi_duration="500 ms", backends=None, method=None) -> str:
    """The [simulation], [fi_curve] and [convergence] sections of a short comparison (three dts from
    0.4 to 0.1 ms), appended to a specification's TOML by the harness, CLI and report tests."""
    import json
    simulation = f'[simulation]\ndt = "0.1 ms"\nduration = "{duration}"\n'
    if method is not None:
        simulation += f'method = "{method}"\n'
    if backends is not None:
        simulation += f"backends = {json.dumps(list(backends))}\n"
    return (f"\n{simulation}[fi_curve]\nnum = {fi_num}\nduration = \"{fi_duration}\"\n"
            f'[convergence]\ndt = ["0.4 ms", "0.2 ms", "0.1 ms"]\nduration = "{duration}"\n')


def traced_peak(function) -> int:
    """The peak of the memory Python allocates (bytes, ``tracemalloc``) while ``function()`` runs."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def population_runs(dt: float = 1e-4, n_steps: int = 1000):
    """``(spec, drive)`` runs whose cells differ in every per-neuron field (one at a time, two at once, and
    one cell twice), each with constant currents below, near and above its rheobase: what a sweep's task
    hands a backend's ``run_cells``."""
    from models.drive import Drive
    from models.loading import load_spec
    base = load_spec("textbook")
    cells = [base, base.replace(tau_m=10e-3), base.replace(R=150e6), base.replace(E_L=-0.065, V_init=None),
             base.replace(V_th=-0.052), base.replace(V_reset=-0.068), base.replace(V_init=-0.06),
             base.replace(t_ref=3e-3), base.replace(tau_m=10e-3, t_ref=3e-3), base]
    currents = ([1.5e-10, 3e-10, 7e-10], [2.5e-10], [1e-10, 4e-10], [5e-10, 2e-9], [3e-10], [6e-10, 2.5e-10],
                [3e-10], [1e-9], [8e-10, 1.2e-9], [2e-9])
    return [(cell, Drive.constant(c, dt, n_steps)) for cell, c in zip(cells, currents)]


def same_runs(got: list, want: list, voltages: bool = False, v_atol: float = 0.0) -> None:
    """Each result of ``got`` has the spikes of the one of ``want`` bit for bit, and (``voltages``) its
    voltages within ``v_atol`` (V; 0: bit for bit)."""
    import numpy as np
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a.n_neurons == b.n_neurons
        np.testing.assert_array_equal(a.spike_neuron, b.spike_neuron)
        np.testing.assert_array_equal(a.spike_time, b.spike_time)
        if voltages and v_atol == 0:
            np.testing.assert_array_equal(a.v, b.v)
        elif voltages:
            np.testing.assert_allclose(a.v, b.v, rtol=0, atol=v_atol)
    assert sum(a.spike_time.size for a in got) > 50            # the runs spike: the comparison means something
