"""Every declared contract, run as a numpy twin (reference.twins), against its real simulator, on every
preset and stimulus kind. The contracts are those the adapters declare (``CONTRACTS``, ``contract(settings)``).

Each backend runs once per preset: all six stimulus kinds (dc, step, pulses, ramp, sine and seeded
noise) as one population of 150 ms at dt = 0.1 ms, through ``comparisons.backends.get(name).run`` with the
twin's settings (Brian2 method exact/euler, NEST model iaf_psc_delta/_ps, snnTorch leaky/lapicque).

Tolerances, from the numerics:

- voltage samples: ``1e-12 (V_th - V_reset)``. The simulators compute in other frames (NEST in mV
  relative to E_L, Nengo normalised, snnTorch and Rockpool relative to V_reset) and write the update
  differently; each step adds a few ulps of ``|V| <= 0.1 V`` (~1e-17 V) and the contraction
  ``exp(-dt/tau)`` keeps the sum below ``eps |V| tau/dt`` ~ 4e-15 V for tau/dt = 255, far below the bound
  (1.5e-14 V for 15 mV).
- spikes: the same neurons and the same grid steps, exactly (grid-locked spikes carry no rounding).
  Precise NEST spike times: the same step, and ``|dt| <= tau_m delta/(V_inf - V_th) + 8 ulp(t)`` with
  ``delta`` the voltage bound (the inversion ``tau ln((V_inf - v0)/(V_inf - V_th))`` moves by
  ``tau delta/(V_inf - v0) <= tau delta/(V_inf - V_th)`` when ``v0`` moves by ``delta``).

Where a backend refuses a preset (``representable()`` gives a reason) the test asserts that reason.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from comparisons.stimuli import DC, Pulses, Ramp, Sine, Step, WhiteNoise
from comparisons import backends, contract
from models.drive import Drive
from models.loading import plain_preset_names
from models.loading import load_spec

DT = 1e-4
N_STEPS = 1500
#: Voltage tolerance relative to V_th - V_reset (see the module docstring).
V_RTOL = 1e-12


def stimuli(spec):
    """One stimulus of each kind, in units of the cell's rheobase (never exactly at it: a constant drive
    at rheobase makes V approach V_th, where ``>`` and ``>=`` and the frames' rounding decide)."""
    rb = spec.rheobase
    return [DC("dc", amplitude=1.5 * rb),
            Step("step", amplitude=2.0 * rb, start=0.02, stop=0.12),
            Pulses("pulses", amplitude=4.0 * rb, width=3e-3, period=10e-3, start=10e-3),
            Ramp("ramp", amplitude_start=0.0, amplitude_stop=3.0 * rb, start=0.01, stop=0.14),
            Sine("sine", amplitude=0.6 * rb, frequency=25.0, offset=1.2 * rb),
            WhiteNoise("noise", mean=1.2 * rb, sigma=0.5 * rb * np.sqrt(DT), seed=3)]


def population(spec, extra=()) -> Drive:
    """All stimuli of a cell as one population (neuron j receives stimulus j)."""
    waves = [s.sample(DT, N_STEPS) for s in list(stimuli(spec)) + list(extra)]
    return Drive(DT, np.stack(waves, axis=1), np.ones(len(waves)))


#: Each twin's expected refusal: (does the backend refuse this cell at DT?, words of its reason).
REFUSALS = {
    "nengo": (lambda s: s.t_ref < DT, "nengo#1427"),
    "nest-delta-ps": (lambda s: s.t_ref < DT, "needs t_ref >= dt"),
    "snntorch-leaky": (lambda s: s.t_ref > 0, "no refractory period"),
    "snntorch-lapicque": (lambda s: s.t_ref > 0, "no refractory period"),
    "rockpool": (lambda s: s.t_ref > 0, "no refractory period"),
}


@functools.lru_cache(maxsize=None)
def backend_run(preset: str, twin_name: str, reset: str = "value"):
    """(spec, drive, refusal reason or None, backend Result or None), computed once per test session."""
    spec = load_spec(preset).replace(reset=reset)
    extra = [DC("strong", amplitude=300.0 * spec.rheobase)] if reset == "subtract" else []
    drive = population(spec, extra)
    twin = contract.twin_named(twin_name)
    settings = twin.settings(DT, N_STEPS)
    module = backends.get(twin.backend)
    reason = module.representable(spec, settings)
    result = None if reason else module.run(spec, drive, settings)
    return spec, drive, reason, result


def mismatch(spec, drive: Drive, result, twin_name: str, volts: float | None = None) -> str | None:
    """``None`` when the twin reproduces the backend's result within the tolerances of the module
    docstring, else the first difference found. ``volts`` (V): the voltage scale of the rounding bound,
    default ``V_th - V_reset``."""
    v, neuron, time = contract.twin_named(twin_name).simulate(spec, drive)
    delta = V_RTOL * (spec.V_th - spec.V_reset if volts is None else volts)
    err = float(np.max(np.abs(result.v - v)))
    if err > delta:
        return f"voltage differs by {err:.3e} V > {delta:.3e} V"
    if not np.array_equal(result.spike_neuron, neuron):
        return f"spiking neurons differ ({result.spike_neuron.size} vs {neuron.size} spikes)"
    if contract.twin_named(twin_name).conventions.spike_stamp == "crossing":
        return _precise_mismatch(spec, drive, result.spike_time, neuron, time, delta)
    steps, mine = np.rint(result.spike_time / DT), np.rint(time / DT)
    if not np.array_equal(steps, mine):
        return f"spike steps differ at {np.count_nonzero(steps != mine)} spikes"
    return None


def _precise_mismatch(spec, drive, theirs, neuron, mine, delta) -> str | None:
    step = np.ceil(mine / DT - 1e-9).astype(int)                     # the step (t_k-1, t_k] of each spike
    if not np.array_equal(np.ceil(theirs / DT - 1e-9).astype(int), step):
        return "precise spikes fall in different steps"
    current = drive.waveform[step - 1, neuron] * drive.scale[neuron]
    margin = spec.E_L + spec.R * current - spec.V_th
    bound = spec.tau_m * delta / margin + 8 * np.spacing(mine)
    worst = float(np.max(np.abs(theirs - mine) / bound)) if mine.size else 0.0
    return None if worst <= 1.0 else f"precise spike times differ by {worst:.2f} x their bound"


CASES = [(preset, name) for preset in plain_preset_names() for name in contract.declared()]


@pytest.mark.parametrize("preset, twin_name", CASES, ids=[f"{p}-{n}" for p, n in CASES])
def test_twin_reproduces_its_backend(preset, twin_name):
    """Voltage within 1e-12 (V_th - V_reset), identical spike steps; or the backend's expected refusal."""
    spec, drive, reason, result = backend_run(preset, twin_name)
    refuses, words = REFUSALS.get(twin_name, (lambda s: False, ""))
    if refuses(spec):
        assert reason is not None and words in reason, reason
        return
    assert reason is None, reason
    assert result.spike_time.size > 6 * 2, "every stimulus makes the cell fire"
    problem = mismatch(spec, drive, result, twin_name)
    assert problem is None, f"{preset}, twin {twin_name}: {problem}"


@pytest.mark.parametrize("preset", ["euler_tutorial", "textbook"])
@pytest.mark.parametrize("twin_name", ["reference", "brian2-exact", "brian2-euler", "snntorch-leaky",
                                       "rockpool"])
def test_twins_of_reset_by_subtraction(preset, twin_name):
    """The cells with ``reset = "subtract"``, plus a 300 x rheobase current that raises V by about
    (1 - exp(-dt/tau)) 300 (V_th - E_L) ~ 2 (V_th - V_reset) per step on euler_tutorial: Brian2 and
    snnTorch subtract once per step, Rockpool and the reference as often as needed.

    The strong neuron's update works with ``V_inf - V_reset`` ~ 300 (V_th - E_L) (3 V for euler_tutorial):
    rounding scales with it, so the voltage bound is ``1e-12`` times that largest drive (the same few ulps
    per step as the module docstring's, of the largest voltage in the update)."""
    spec, drive, reason, result = backend_run(preset, twin_name, "subtract")
    if twin_name in REFUSALS and REFUSALS[twin_name][0](spec):
        assert reason is not None and REFUSALS[twin_name][1] in reason, reason
        return
    assert reason is None, reason
    largest = float(np.max(np.abs(spec.E_L + spec.R * drive.matrix() - spec.V_reset)))
    problem = mismatch(spec, drive, result, twin_name, max(spec.V_th - spec.V_reset, largest))
    assert problem is None, f"{preset} (subtract), twin {twin_name}: {problem}"


def test_strong_drive_reaches_several_spikes_per_step():
    """The subtraction test above does tell the two subtractive rules apart: the strong neuron spikes
    twice in some step under Rockpool, and Rockpool's run is not the once-per-step twin's."""
    spec, drive, _, result = backend_run("euler_tutorial", "rockpool", "subtract")
    strong = result.spike_neuron == drive.n_neurons - 1
    _, counts = np.unique(np.rint(result.spike_time[strong] / DT), return_counts=True)
    assert counts.max() >= 2
    assert mismatch(spec, drive, result, "brian2-exact") is not None


@pytest.mark.parametrize("backend_twin, wrong_twin", [
    ("brian2-exact", "reference"), ("brian2-exact", "nest-delta"), ("brian2-euler", "reference-euler"),
    ("nengo", "reference"), ("nengo", "nest-delta-ps"), ("nest-delta", "brian2-exact"),
    ("snntorch-lapicque", "reference-euler"), ("rockpool", "snntorch-leaky"),
])
def test_the_check_tells_rules_apart(backend_twin, wrong_twin):
    """A neighbouring rule fails the same check (textbook, or euler_tutorial for the t_ref = 0 backends):
    the tolerances are tight enough to see one convention."""
    preset = "euler_tutorial" if backend_twin.startswith(("snntorch", "rockpool")) else "textbook"
    spec, drive, reason, result = backend_run(preset, backend_twin)
    assert reason is None
    assert mismatch(spec, drive, result, wrong_twin) is not None


def test_twin_of_names_the_contract_of_each_setting():
    """The harness's settings map onto the adapters' declared contracts (the reference's options included)."""
    from models.result import RunSettings

    base = RunSettings(DT, 10)
    assert contract.twin_of("brian2", base).name == "brian2-exact"
    assert contract.twin_of("brian2", RunSettings(DT, 10, "euler")).name == "brian2-euler"
    assert contract.twin_of("nest", base).name == "nest-delta"
    assert contract.twin_of("nest", base.with_options(model="iaf_psc_delta_ps")).name == "nest-delta-ps"
    assert contract.twin_of("snntorch", base.with_options(model="lapicque")).name == "snntorch-lapicque"
    assert contract.twin_of("reference", RunSettings(DT, 10, "euler").with_options(threshold=">=")).name == \
        "tutorial"
    assert contract.twin_of("reference", base).name == "reference"
    assert contract.twin_of("reference", base.with_options(threshold=">=")).name == "reference(exact, grid, >=)"
    assert contract.twin_of("norse", base) is None
    with pytest.raises(ValueError, match="unknown twin"):
        contract.twin_named("norse")


@pytest.mark.parametrize("name", list(contract.declared()))
def test_each_contract_is_the_one_its_settings_select(name):
    """A declared contract's own settings select it again: the table and the adapter's choice agree."""
    twin = contract.twin_named(name)
    assert contract.twin_of(twin.backend, twin.settings(DT, 10)).name == name


def test_every_shipped_backend_declares_its_contracts():
    """The six adapters declare every contract; the reference's twins and conventions name no simulator."""
    owners = {c.backend for c in contract.declared().values()}
    assert owners == {"reference", "brian2", "nengo", "nest", "snntorch", "rockpool"}
    from conftest import ROOT
    for path in (ROOT / "reference" / "twins.py", ROOT / "reference" / "conventions.py"):
        text = path.read_text().lower()
        for simulator in ("brian2", "nengo", "nest", "snntorch", "rockpool"):
            assert simulator not in text, f"{path.name} names {simulator}"


@pytest.mark.parametrize("preset, twin_name", [("textbook", "brian2-exact"), ("textbook", "nest-delta"),
                                               ("textbook", "nengo"), ("euler_tutorial", "snntorch-lapicque"),
                                               ("euler_tutorial", "rockpool"), ("textbook", "reference")])
def test_metadata_states_the_contract(preset, twin_name):
    """Each result's threshold, stamp, refractory, sampling, input and reset statements begin with its
    contract's own words (Conventions.describe): prose and contract cannot disagree."""
    from models.conventions import STATEMENTS

    spec, _, reason, result = backend_run(preset, twin_name)
    assert reason is None, reason
    text = contract.twin_named(twin_name).conventions_for(spec).describe()
    for field, key in STATEMENTS.items():
        assert getattr(result.meta, field).startswith(text[key]), (field, getattr(result.meta, field))
