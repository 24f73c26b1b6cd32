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
