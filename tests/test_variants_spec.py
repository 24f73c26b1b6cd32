"""The optional model additions of the specification: defaults that leave the plain LIF untouched,
one-line validation errors for every new field, TOML round trips, the spike input's sampling on a grid."""

import copy
import tomllib

import numpy as np
import pytest

from comparisons.config import comparison_from_document
from models.errors import SpecificationError, UnitError, UserInputError
from models.files import preset_names
from models.loading import (FILE_SECTIONS, load_spec, plain_preset_names, spec_from_document, spec_to_document,
                            spec_to_toml)
from models.spec import LIFSpec, SpikeInput

TEXTBOOK = {"tau_m": "20 ms", "E_L": "-70 mV", "V_th": "-50 mV", "V_reset": "-65 mV", "R": "100 Mohm",
            "t_ref": "2 ms"}
#: The keys every plain specification has always produced (manifests, reports).
PLAIN_SI_KEYS = {"name", "tau_m", "E_L", "V_th", "V_reset", "R", "t_ref", "V_init", "description", "C", "g_L",
                 "rheobase"}
PLAIN_NEURON_KEYS = {"tau_m", "E_L", "V_th", "V_reset", "V_init", "R", "t_ref"}


def doc(spike_input=None, **neuron):
    out = {"name": "cell", "neuron": {**TEXTBOOK, **neuron}}
    if spike_input is not None:
        out["spike_input"] = spike_input
    return out


def textbook_spec(**changes):
    return LIFSpec(name="cell", tau_m=0.02, E_L=-0.07, V_th=-0.05, V_reset=-0.065, R=1e8, t_ref=0.002, **changes)


# ---- the plain LIF is unchanged ------------------------------------------------------------------

def test_defaults_are_the_plain_lif_object():
    plain = textbook_spec()
    explicit = textbook_spec(reset="value", tau_syn=None, sigma=0.0, noise_seed=0, spike_input=None)
    assert plain == explicit and hash(plain) == hash(explicit)
    assert plain.is_plain and plain.features == ()
    assert set(plain.to_si_dict()) == PLAIN_SI_KEYS
    document = spec_to_document(plain)
    assert set(document) == {"name", "description", "neuron"} and set(document["neuron"]) == PLAIN_NEURON_KEYS


@pytest.mark.parametrize("name", plain_preset_names())
def test_every_plain_preset_writes_the_same_document(name):
    spec = load_spec(name)
    assert spec.is_plain
    assert set(spec.to_si_dict()) == PLAIN_SI_KEYS
    assert set(spec_to_document(spec)["neuron"]) == PLAIN_NEURON_KEYS
    assert spec_from_document(tomllib.loads(spec_to_toml(spec))) == spec


def test_features_name_what_is_switched_on():
    spec = textbook_spec(reset="subtract", tau_syn=0.005, sigma=8e-12)
    assert spec.features == ("synapse", "noise", "subtract") and not spec.is_plain
    assert textbook_spec(tau_syn=0.005).features == ("synapse",)
    assert spec.free_sd == pytest.approx(1e8 * 8e-12 / np.sqrt(0.04), rel=1e-15)  # R sigma / sqrt(2 tau_m)


def test_replace_keeps_the_additions_and_validates_them():
    spec = textbook_spec(tau_syn=0.005, spike_input=SpikeInput(50e-12, (0.01,)), sigma=1e-12, noise_seed=3)
    sub = spec.replace(t_ref=0.0)  # what the harness's substitute does
    assert (sub.tau_syn, sub.spike_input, sub.sigma, sub.noise_seed) == (0.005, spec.spike_input, 1e-12, 3)
    with pytest.raises(SpecificationError, match="spike_input: needs neuron.tau_syn"):
        spec.replace(tau_syn=None)


# ---- validation: field, expectation, given value, one line ---------------------------------------

NEURON_ERRORS = [
    ({"reset": "zero"}, "neuron.reset", 'neuron.reset: expected "value" or "subtract", got "zero"'),
    ({"reset": 1}, "neuron.reset", 'expected "value" or "subtract", got "1"'),
    ({"tau_syn": "-1 ms"}, "neuron.tau_syn", 'must be a positive time, got "-1 ms"'),
    ({"tau_syn": "0 ms"}, "neuron.tau_syn", 'must be a positive time, got "0 ms"'),
    ({"tau_syn": "5 mV"}, "neuron.tau_syn", 'expected a time, got "5 mV"'),
    ({"tau_syn": "5"}, "neuron.tau_syn", "expected a time with a unit"),
    ({"tau_syn": "5000 s"}, "neuron.tau_syn", "must lie between"),
    ({"sigma": "-1 pA*s**0.5"}, "neuron.sigma", 'must be a non-negative current noise density, got "-1 pA*s**0.5"'),
    ({"sigma": "1 pA"}, "neuron.sigma", 'expected a current noise density, got "1 pA"'),
    ({"sigma": "nan pA*s**0.5"}, "neuron.sigma", "must be a non-negative current noise density"),
    ({"sigma": "10 A*s**0.5"}, "neuron.sigma", "free-membrane standard deviation"),
    ({"noise_seed": -1}, "neuron.noise_seed", 'expected a non-negative integer, got "-1"'),
    ({"noise_seed": 1.5}, "neuron.noise_seed", 'expected a non-negative integer, got "1.5"'),
    ({"noise_seed": True}, "neuron.noise_seed", "expected a non-negative integer"),
    ({"noise_seed": "3"}, "neuron.noise_seed", 'expected a non-negative integer, got "3"'),
    ({"tau_sin": "5 ms"}, "neuron.tau_sin", 'did you mean "tau_syn"?'),
]


@pytest.mark.parametrize("neuron, field, fragment", NEURON_ERRORS)
def test_neuron_additions_are_validated(neuron, field, fragment):
    with pytest.raises(UserInputError) as info:
        spec_from_document(doc(**neuron))
    assert info.value.field == field
    assert fragment in str(info.value) and "\n" not in str(info.value)


SYN = {"tau_syn": "5 ms"}
INPUT_ERRORS = [
    ({}, {"weight": "50 pA", "times": ["10 ms"]}, "spike_input", "spike_input: needs neuron.tau_syn"),
    (SYN, {"times": ["10 ms"]}, "spike_input.weight", "is required but missing"),
    (SYN, {"weight": "50 mV", "times": ["10 ms"]}, "spike_input.weight", 'expected a current, got "50 mV"'),
    (SYN, {"weight": "50 A", "times": ["10 ms"]}, "spike_input.weight", 'of at most 10.0 V (a unit slip?), got "50 A"'),
    (SYN, {"weight": "inf pA", "times": ["10 ms"]}, "spike_input.weight", 'must be a finite current, got "inf pA"'),
    (SYN, {"weight": "50 pA"}, "spike_input", "either times (a list) or rate"),
    (SYN, {"weight": "50 pA", "times": ["1 ms"], "rate": "5 Hz"}, "spike_input", "not both"),
    (SYN, {"weight": "50 pA", "times": "1 ms"}, "spike_input.times", "expected a list of times"),
    (SYN, {"weight": "50 pA", "times": ["10 ms", "5 ms"]}, "spike_input.times[1]",
     'must not be earlier than the time before it (0.01 s), got "5 ms"'),
    (SYN, {"weight": "50 pA", "times": ["-1 ms"]}, "spike_input.times[0]", 'got "-1 ms"'),
    (SYN, {"weight": "50 pA", "times": ["1 mV"]}, "spike_input.times[0]", "expected a time"),
    (SYN, {"weight": "50 pA", "rate": "-5 Hz"}, "spike_input.rate", 'must be a positive rate of at most'),
    (SYN, {"weight": "50 pA", "rate": "5 ms"}, "spike_input.rate", "expected a rate"),
    (SYN, {"weight": "50 pA", "rate": "5 Hz", "seed": -2}, "spike_input.seed", 'non-negative integer, got "-2"'),
    (SYN, {"weight": "50 pA", "rate": "5 Hz", "seed": 0.5}, "spike_input.seed", "non-negative integer"),
    (SYN, {"weight": "50 pA", "times": ["1 ms"], "seed": 2}, "spike_input.seed", "only used with spike_input.rate"),
    (SYN, {"weight": "50 pA", "rate": "5 Hz", "seeds": 2}, "spike_input.seeds", 'did you mean "seed"?'),
    (SYN, "50 pA", "spike_input", "expected a table"),
]


@pytest.mark.parametrize("neuron, table, field, fragment", INPUT_ERRORS)
def test_spike_input_is_validated(neuron, table, field, fragment):
    with pytest.raises(UserInputError) as info:
        spec_from_document(doc(spike_input=table, **neuron))
    assert info.value.field == field
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_errors_are_the_project_errors_and_name_the_file(tmp_path):
    with pytest.raises(SpecificationError):
        textbook_spec(reset="zero")
    with pytest.raises(SpecificationError, match="neuron.tau_syn"):
        textbook_spec(tau_syn=-1.0)
    with pytest.raises(SpecificationError, match="spike_input.rate"):
        SpikeInput(1e-12, rate=0.0)
    with pytest.raises(UnitError):
        spec_from_document(doc(sigma="3 pA"))
    path = tmp_path / "cell.toml"
    path.write_text('name = "x"\n[neuron]\ntau_m = "20 ms"\nE_L = "-70 mV"\nV_th = "-50 mV"\nV_reset = "-65 mV"\n'
                    'R = "100 Mohm"\nt_ref = "2 ms"\nreset = "zero"\n')
    with pytest.raises(SpecificationError) as info:
        load_spec(path)
    assert str(info.value) == f'{path}: neuron.reset: expected "value" or "subtract", got "zero"'


# ---- round trips ------------------------------------------------------------------------------------

ROUND_TRIPS = [
    doc(reset="subtract"),
    doc(tau_syn="5 ms"),
    doc(tau_syn="20 ms", spike_input={"weight": "-37.5 pA", "times": ["0 ms", "10 ms", "10 ms", "0.1234567 s"]}),
    doc(tau_syn="3.3 ms", spike_input={"weight": "50 pA", "rate": "123.4 Hz", "seed": 2**40}),
    doc(sigma="8 pA*s**0.5", noise_seed=17),
    doc(reset="subtract", tau_syn="5 ms", sigma="0.1 nA*s**0.5", noise_seed=3,
        spike_input={"weight": "1 nA", "rate": "50 Hz", "seed": 0}),
]


@pytest.mark.parametrize("document", ROUND_TRIPS)
def test_toml_round_trip_of_the_additions(document, tmp_path):
    spec = spec_from_document(copy.deepcopy(document))
    again = spec_from_document(tomllib.loads(spec_to_toml(spec)))
    assert again == spec and again.to_si_dict() == spec.to_si_dict()
    path = tmp_path / "cell.toml"
    path.write_text(spec_to_toml(spec))
    assert load_spec(path) == spec


def test_toml_keeps_every_bit_of_the_times():
    spec = spec_from_document(ROUND_TRIPS[2])
    assert spec.spike_input.times == (0.0, 0.01, 0.01, 0.1234567)
    assert spec.spike_input.weight == -37.5e-12 and spec.tau_syn == 0.02 == spec.tau_m


def test_comparison_files_accept_the_spike_input_section():
    assert "spike_input" in FILE_SECTIONS
    document = doc(tau_syn="5 ms", spike_input={"weight": "50 pA", "times": ["10 ms"]})
    document["simulation"] = {"backends": ["reference"], "duration": "100 ms"}
    comparison = comparison_from_document(document)
    assert comparison.spec.spike_input == SpikeInput(50e-12, (0.01,))


# ---- the spike input on a grid ------------------------------------------------------------------

def test_grid_arrival_is_the_nearest_grid_point():
    inp = SpikeInput(2e-12, (0.0, 0.00024, 0.00026, 0.01, 0.01, 0.0999, 0.2))
    counts = inp.arrivals(1e-4, 1000)
    assert counts.shape == (1000,) and counts.dtype.kind == "i"
    expected = np.zeros(1000, dtype=int)
    for k in (0, 2, 3, 100, 100, 999):  # 0.24 ms -> t_2, 0.26 ms -> t_3; 0.2 s lies beyond the run
        expected[k] += 1
    np.testing.assert_array_equal(counts, expected)
    np.testing.assert_array_equal(inp.jumps(1e-4, 1000), 2e-12 * expected)


def test_poisson_train_is_reproducible_and_a_prefix_for_any_duration():
    inp = SpikeInput(1e-12, rate=40.0, seed=5)
    long = inp.spike_times(60.0)
    np.testing.assert_array_equal(inp.spike_times(60.0), long)
    np.testing.assert_array_equal(inp.spike_times(7.5), long[long < 7.5])
    other = SpikeInput(1e-12, rate=40.0, seed=6).spike_times(60.0)
    assert other.size != long.size or not np.array_equal(other, long)
    # the count of a Poisson train of rate r over T is Poisson(r T): within 3.29 sd (two-sided 99.9 %)
    assert abs(long.size - 40.0 * 60.0) <= 3.29 * np.sqrt(40.0 * 60.0)
    assert np.all(np.diff(long) > 0) and long[0] >= 0


def test_seed_variant_cells_are_presets_that_round_trip():
    """The seed tutorials' variant cells are shipped presets (one source of truth, run by make report)."""
    assert {"rockpool_synaptic", "neuromatch_noise"} <= set(preset_names()) - set(plain_preset_names())
    rockpool = load_spec("rockpool_synaptic")
    assert rockpool.features == ("synapse", "subtract") and rockpool.tau_syn == rockpool.tau_m == 0.01
    assert rockpool.spike_input.rate == 100.0 and rockpool.R * rockpool.spike_input.weight == 1.0
    noise = load_spec("neuromatch_noise")
    assert noise.features == ("noise",) and noise.free_sd == pytest.approx(1e8 * 2e-12 / np.sqrt(0.02), rel=1e-12)
    for name in ("rockpool_synaptic", "neuromatch_noise"):
        spec = load_spec(name)
        assert spec_from_document(tomllib.loads(spec_to_toml(spec))) == spec and spec.description.strip()
