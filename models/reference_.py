"""The reference backend: :mod:`reference.engine` behind the common backend entry point.

Options (``RunSettings.options``): ``crossing`` = ``"grid"`` (default), ``"linear"`` or ``"exact"``;
``threshold`` = ``">"`` (default) or ``">="``.
"""

from __future__ import annotations

import numpy as np

from reference.conventions import Conventions
from reference.engine import simulate

from .drive import Drive
from .result import Metadata, Result, RunSettings
from .spec import LIFSpec

NAME = "reference"
LIBRARY = None  # pure numpy: always available


def version() -> str:
    from . import __version__
    return __version__


def representable(spec: LIFSpec, settings: RunSettings):
    """The reference represents every valid specification."""
    return None


def conventions_for(settings: RunSettings) -> Conventions:
    crossing = settings.option("crossing", "grid")
    return Conventions(integrator=settings.method, threshold=settings.option("threshold", ">"),
                       crossing=crossing, refractory="steps" if crossing == "grid" else "timer")


def run(spec: LIFSpec, drive: Drive, settings: RunSettings) -> Result:
    """Simulate ``drive.n_neurons`` reference neurons; see :mod:`reference.conventions`."""
    conventions = conventions_for(settings)
    v, neuron, time = simulate(spec, drive, conventions, settings.record_v)
    text = conventions.describe()
    meta = Metadata(
        backend=NAME, version=version(), method=text["method"], dt=drive.dt,
        threshold=text["threshold"], spike_stamp=text["spike_stamp"],
        sampling="sample k is V(t_k) after the update ending at t_k and any reset; sample 0 is V_init",
        refractory=text["refractory"], initial_state=f"V = V_init = {spec.V_init!r} V, not refractory",
        notes=(f"conventions: {conventions.as_dict()}",))
    t = np.arange(drive.n_steps + 1) * drive.dt
    return Result(t=t, v=v, spike_neuron=neuron, spike_time=time, n_neurons=drive.n_neurons, meta=meta)
